/* SPDX-License-Identifier: MIT */
/* b64: base64url without padding (JWTs) and the strict standard decoder
 * (openssl enc -a). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "test.h"

/* RFC 4648 section 10 test vectors, lengths 0 to 6. */
static const struct {
	const char *in;
	const char *std;	/* standard alphabet, padded */
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};
#define NVEC (sizeof(rfc4648) / sizeof(*rfc4648))

/* The url form of a standard encoding: '+' -> '-', '/' -> '_', no '='. */
static void
std_to_url(const char *std, char *out)
{
	for (; *std != '\0' && *std != '='; std++)
		*out++ = *std == '+' ? '-' : *std == '/' ? '_' : *std;
	*out = '\0';
}

static void
test_url_len(void)
{
	/* ceil(4n/3) without padding: n%3 == 1 -> +2, n%3 == 2 -> +3 */
	for (size_t n = 0; n < 100; n++) {
		size_t want = (4 * n + 2) / 3;

		ASSERT_SIZE_T_EQ(b64url_len(n), want);
	}
	for (size_t i = 0; i < NVEC; i++) {
		char url[16];

		std_to_url(rfc4648[i].std, url);
		ASSERT_SIZE_T_EQ(b64url_len(strlen(rfc4648[i].in)),
		    strlen(url));
	}
}

static void
test_url_encode_rfc4648(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		char out[32], want[16];
		size_t n = strlen(rfc4648[i].in), r;

		memset(out, 0x55, sizeof(out));
		std_to_url(rfc4648[i].std, want);
		r = b64url_encode(rfc4648[i].in, n, out);
		ASSERT_SIZE_T_EQ(r, strlen(want));
		ASSERT_STR_EQ(out, want);
		/* Nothing written past the terminating NUL. */
		ASSERT_MEM_FILLED(out + r + 1, 0x55, sizeof(out) - r - 1);
		ASSERT_TRUE(strchr(out, '=') == NULL);
	}
}

static void
test_url_encode_binary(void)
{
	/* 0xfb 0xff -> standard "+/8=", url "-_8" */
	static const unsigned char b1[] = { 0xfb, 0xff };
	static const unsigned char b2[] = { 0xfb, 0xef, 0xbe };
	static const unsigned char b3[] = { 0xff, 0xff, 0xff, 0xff };
	static const unsigned char b4[] = { 0x00, 0x00, 0x00 };
	unsigned char all[256];
	char out[400], std[400], url[400];
	size_t n, r;

	ASSERT_SIZE_T_EQ(b64url_encode(b1, sizeof(b1), out), 3);
	ASSERT_STR_EQ(out, "-_8");
	ASSERT_SIZE_T_EQ(b64url_encode(b2, sizeof(b2), out), 4);
	ASSERT_STR_EQ(out, "----");
	ASSERT_SIZE_T_EQ(b64url_encode(b3, sizeof(b3), out), 6);
	ASSERT_STR_EQ(out, "_____w");
	ASSERT_SIZE_T_EQ(b64url_encode(b4, sizeof(b4), out), 4);
	ASSERT_STR_EQ(out, "AAAA");

	/* Every byte value, at every length 0..256, against OpenSSL's
	 * standard encoder translated to the url alphabet. */
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(255 - i);
	for (n = 0; n <= sizeof(all); n++) {
		EVP_EncodeBlock((unsigned char *)std, all, (int)n);
		std_to_url(std, url);
		r = b64url_encode(all, n, out);
		ASSERT_SIZE_T_EQ(r, b64url_len(n));
		ASSERT_STR_EQ(out, url);
		for (size_t k = 0; k < r; k++)
			ASSERT_TRUE(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-_",
			    out[k]) != NULL);
	}
}

static long
dec(const char *s, unsigned char *out)
{
	return b64_decode(s, strlen(s), out);
}

static void
test_decode_rfc4648(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		unsigned char out[32];
		size_t n = strlen(rfc4648[i].in);
		long r;

		memset(out, 0x55, sizeof(out));
		r = dec(rfc4648[i].std, out);
		ASSERT_INT_EQ(r, (long)n);
		ASSERT_MEM_EQ(out, rfc4648[i].in, n);
	}
}

static void
test_decode_binary_roundtrip(void)
{
	unsigned char all[256], out[400];
	char std[400];
	long r;

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= sizeof(all); n++) {
		int len = EVP_EncodeBlock((unsigned char *)std, all + 256 - n,
		    (int)n);

		r = b64_decode(std, (size_t)len, out);
		ASSERT_INT_EQ(r, (long)n);
		ASSERT_MEM_EQ(out, all + 256 - n, n);
	}
}

static void
test_decode_whitespace(void)
{
	unsigned char out[64];
	long r;

	/* openssl enc -a wraps at 64 columns; CRLF files exist too. */
	r = dec("Zm9v\nYmFy\n", out);
	ASSERT_INT_EQ(r, 6);
	ASSERT_MEM_EQ(out, "foobar", 6);
	r = dec(" Zm 9v\r\n\tYg==\r\n", out);
	ASSERT_INT_EQ(r, 4);
	ASSERT_MEM_EQ(out, "foob", 4);
	r = dec("Zm9vYmE=\n", out);
	ASSERT_INT_EQ(r, 5);
	ASSERT_MEM_EQ(out, "fooba", 5);
	r = dec("\n\n", out);
	ASSERT_INT_EQ(r, 0);
	r = dec("Zg=\n=", out);
	ASSERT_INT_EQ(r, 1);
	ASSERT_MEM_EQ(out, "f", 1);
}

static void
test_decode_rejects(void)
{
	static const char *const bad[] = {
		"Zm9v*mFy",	/* not in the alphabet */
		"Zm9v-_Fy",	/* url alphabet is not standard base64 */
		"Zm9v.",
		"Zm9v\x01",
		"Zm9v\xc3\xa9",
		"Zg=",		/* one '=' where two belong */
		"Zg",		/* no padding at all */
		"Zm8",
		"Zm8==",	/* two '=' where one belongs */
		"Zm9v=",	/* padding after a full group */
		"Zm9v==",
		"=",
		"==",
		"Zm9vY",	/* a lone sixth of a byte */
		"Zm9vY===",
		"Zg==Zg==",	/* data after the padding */
		"Zg==A",
		"Zg==AAAA",	/* ... even where the bit count would fit */
		"Zm8=AAAA",
		"Zm8=\nZm8=",
		"Zh==",		/* non-zero trailing bits */
		"Zm9=",
		"Zm9vYh==",
		"Zm9vYmF=",
	};
	unsigned char out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		long r = dec(bad[i], out);

		if (r != -1)
			TEST_FAIL("b64_decode(\"%s\") = %ld, want -1", bad[i],
			    r);
	}
	/* Length is honoured: the NUL-less prefix "Zg==" of a longer
	 * string decodes, the rest is not read. */
	ASSERT_INT_EQ(b64_decode("Zg==!!!!", 4, out), 1);
	ASSERT_INT_EQ(out[0], 'f');
}

static long
dec_raw(const char *s, unsigned char *out)
{
	return b64_decode_raw(s, strlen(s), out);
}

static void
test_decode_raw(void)
{
	unsigned char all[256], out[400];
	char std[400], raw[400];
	long r;

	/* RFC 4648 vectors without their padding (age's encoding). */
	for (size_t i = 0; i < NVEC; i++) {
		size_t n = strlen(rfc4648[i].in);

		snprintf(raw, sizeof(raw), "%.*s",
		    (int)strcspn(rfc4648[i].std, "="), rfc4648[i].std);
		memset(out, 0x55, sizeof(out));
		r = dec_raw(raw, out);
		ASSERT_INT_EQ(r, (long)n);
		ASSERT_MEM_EQ(out, rfc4648[i].in, n);
	}
	/* Every length against OpenSSL's encoder, '=' stripped. */
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 13 + 7);
	for (size_t n = 0; n <= sizeof(all); n++) {
		int len = EVP_EncodeBlock((unsigned char *)std, all, (int)n);

		while (len > 0 && std[len - 1] == '=')
			len--;
		r = b64_decode_raw(std, (size_t)len, out);
		ASSERT_INT_EQ(r, (long)n);
		ASSERT_MEM_EQ(out, all, n);
	}
	/* Standard alphabet: '+' and '/' are data. */
	ASSERT_INT_EQ(dec_raw("+/8", out), 2);
	ASSERT_INT_EQ(out[0], 0xfb);
	ASSERT_INT_EQ(out[1], 0xff);
	/* Exactly n bytes: nothing is skipped, nothing is padding. */
	{
		static const char *const bad[] = {
			"Zg==", "Zm8=", "Zg=", "Zm9v\n", " Zm9v", "Zm 9v",
			"Zm9vY",	/* a length of 4k + 1 */
			"Z",
			"-_8",		/* url alphabet */
			"Zm9v*",
			"Zh",		/* non-canonical trailing bits */
			"Zm9",
			"Zm9vYh",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			r = dec_raw(bad[i], out);
			if (r != -1)
				TEST_FAIL("b64_decode_raw(\"%s\") = %ld, "
				    "want -1", bad[i], r);
		}
	}
	/* The length bounds the input. */
	ASSERT_INT_EQ(b64_decode_raw("Zm9v!!", 4, out), 3);
	ASSERT_INT_EQ(b64_decode_raw("", 0, out), 0);
}

int
main(void)
{
	test_init();
	TEST(test_url_len);
	TEST(test_url_encode_rfc4648);
	TEST(test_url_encode_binary);
	TEST(test_decode_rfc4648);
	TEST(test_decode_binary_roundtrip);
	TEST(test_decode_whitespace);
	TEST(test_decode_rejects);
	TEST(test_decode_raw);
	return test_done();
}
