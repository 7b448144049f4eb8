/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: one-time set-up of safs's memory
 * hooks, and a check that aborts (a crash libFuzzer reports and saves)
 * when a parser breaks its own contract.
 */
#ifndef SAFS_FUZZ_H
#define SAFS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: contract broken: %s\n",	\
			    __FILE__, __LINE__, #cond);			\
			abort();					\
		}							\
	} while (0)

/*
 * The daemon's set-up, once per process. By default without the secure
 * heap's arena: OpenSSL carves that arena out of one mmap of its own, so
 * ASan would see no overflow of a secbuf within it and LeakSanitizer no
 * block left allocated there. Without the arena every secmem_alloc() is
 * a malloc() that both sanitizers watch, and secmem_free() takes its
 * wipe-by-malloc_usable_size() path. SAFS_FUZZ_SECURE_HEAP=1 fuzzes
 * with the arena, as the daemon runs (the arena may print nothing).
 */
static inline void
fuzz_init(void)
{
	static int done;
	const char *s;

	if (done)
		return;
	done = 1;
	if ((s = getenv("SAFS_FUZZ_SECURE_HEAP")) != NULL && *s == '1')
		secmem_init(SECMEM_DEFAULT_SIZE);
	secmem_cjson_hooks();
}

/* Every core function returns 0 or a SAFS_ERR_* code, with a detail
 * that fits its buffer. */
static inline void
fuzz_check_result(int r, const struct errbuf *e)
{
	FUZZ_CHECK(r <= 0 && r >= SAFS_ERR_SYSTEM);
	FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL);
	FUZZ_CHECK(err_msg(e, r) != NULL);
}

#endif
