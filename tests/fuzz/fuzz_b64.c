/* SPDX-License-Identifier: MIT */
/*
 * Base64 both ways. The input as base64 text: whatever b64_decode()
 * accepts must be canonical, so that its bytes, encoded again, give the
 * input back (whitespace and padding aside, in the url alphabet), with
 * exactly the padding RFC 4648 prescribes. The input as bytes:
 * b64url_encode() of it, turned into standard padded base64, must decode
 * to the input. The same both ways for b64_decode_raw() (age's unpadded
 * base64): canonical, and the inverse of the encoder.
 */
#include "fuzz.h"

#include "b64.h"

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Decode data, re-encode what came out, compare. */
static void
decode_encode(const uint8_t *data, size_t size)
{
	unsigned char *out = malloc(size / 4 * 3 + 3);
	char *enc = NULL, *canon = malloc(size + 1);
	size_t i, n = 0, pad = 0, elen;
	long r;

	FUZZ_CHECK(out != NULL && canon != NULL);
	r = b64_decode((const char *)data, size, out);
	FUZZ_CHECK(r >= -1);
	if (r < 0)
		goto out;
	FUZZ_CHECK((size_t)r <= size / 4 * 3);
	for (i = 0; i < size; i++) {
		unsigned char c = data[i];

		if (is_space(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		canon[n++] = c == '+' ? '-' : c == '/' ? '_' : (char)c;
	}
	canon[n] = '\0';
	FUZZ_CHECK(pad == (4 - n % 4) % 4);
	elen = b64url_len((size_t)r);
	FUZZ_CHECK((enc = malloc(elen + 1)) != NULL);
	FUZZ_CHECK(b64url_encode(out, (size_t)r, enc) == elen);
	FUZZ_CHECK(enc[elen] == '\0');
	FUZZ_CHECK(elen == n && memcmp(enc, canon, n) == 0);
 out:
	free(enc);
	free(canon);
	free(out);
}

/* Encode data, make it standard base64, decode it again. */
static void
encode_decode(const uint8_t *data, size_t size)
{
	size_t elen = b64url_len(size), i;
	char *enc = malloc(elen + 4);
	unsigned char *dec;
	long r;

	FUZZ_CHECK(enc != NULL);
	FUZZ_CHECK(b64url_encode(data, size, enc) == elen);
	for (i = 0; i < elen; i++) {
		FUZZ_CHECK(enc[i] != '\0' && enc[i] != '+' && enc[i] != '/' &&
		    enc[i] != '=');
		if (enc[i] == '-')
			enc[i] = '+';
		else if (enc[i] == '_')
			enc[i] = '/';
	}
	while (elen % 4 != 0)
		enc[elen++] = '=';
	FUZZ_CHECK((dec = malloc(elen / 4 * 3 + 3)) != NULL);
	r = b64_decode(enc, elen, dec);
	FUZZ_CHECK(r >= 0 && (size_t)r == size &&
	    memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

/* The same for unpadded base64: no whitespace, no '=' at all. */
static void
raw_decode_encode(const uint8_t *data, size_t size)
{
	unsigned char *out = malloc(size / 4 * 3 + 3);
	char *enc = NULL;
	size_t i, elen;
	long r;

	FUZZ_CHECK(out != NULL);
	r = b64_decode_raw((const char *)data, size, out);
	FUZZ_CHECK(r >= -1);
	if (r >= 0) {
		FUZZ_CHECK((size_t)r == size * 3 / 4);
		elen = b64url_len((size_t)r);
		FUZZ_CHECK(elen == size && (enc = malloc(elen + 1)) != NULL);
		b64url_encode(out, (size_t)r, enc);
		for (i = 0; i < size; i++)
			FUZZ_CHECK(enc[i] == (data[i] == '+' ? '-' :
			    data[i] == '/' ? '_' : (char)data[i]));
	}
	free(enc);
	free(out);
}

static void
raw_encode_decode(const uint8_t *data, size_t size)
{
	size_t elen = b64url_len(size), i;
	char *enc = malloc(elen + 1);
	unsigned char *dec = malloc(elen / 4 * 3 + 3);
	long r;

	FUZZ_CHECK(enc != NULL && dec != NULL);
	b64url_encode(data, size, enc);
	for (i = 0; i < elen; i++)
		enc[i] = enc[i] == '-' ? '+' : enc[i] == '_' ? '/' : enc[i];
	r = b64_decode_raw(enc, elen, dec);
	FUZZ_CHECK(r >= 0 && (size_t)r == size &&
	    memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	decode_encode(data, size);
	encode_decode(data, size);
	raw_decode_encode(data, size);
	raw_encode_decode(data, size);
	return 0;
}
