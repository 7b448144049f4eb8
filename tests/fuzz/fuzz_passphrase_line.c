/* SPDX-License-Identifier: MIT */
/*
 * The first line of what a passphrase source gave: the length is that
 * of the bytes before the first "\n" (or the end), less one "\r" before
 * it, or -1 when that exceeds the cap.
 */
#include "fuzz.h"

#include "passphrase.h"

static void
one(const uint8_t *data, size_t size, size_t max)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t want = nl != NULL ? (size_t)(nl - data) : size;
	long r;

	if (want > 0 && data[want - 1] == '\r')
		want--;
	r = passphrase_first_line(data, size, max);
	if (want > max) {
		FUZZ_CHECK(r == -1);
		return;
	}
	FUZZ_CHECK(r >= 0 && (size_t)r == want);
	FUZZ_CHECK(memchr(data, '\n', (size_t)r) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	one(data, size, PASSPHRASE_MAX);
	one(data, size, 0);
	one(data, size, size);
	if (size > 0)
		one(data, size, size / 2);
	return 0;
}
