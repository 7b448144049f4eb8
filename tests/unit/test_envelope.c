/* SPDX-License-Identifier: MIT */
/*
 * envelope: files written at test time by the real `openssl enc` CLI in
 * every variant safs supports, and every kind of damage.
 */
#include <stdarg.h>
#include <string.h>

#include "account.h"
#include "envelope.h"
#include "secmem.h"
#include "test.h"

/* Distinctive, so a leak into a message is found by strstr. */
#define PASS "Pw-7f3a9c-distinct!"
#define WRONG "Wr0ng-e41d-passphrase"

static char *dir;
static char pwfile[4096];
static char plainfile[4096];	/* the JSON every variant encrypts */
static unsigned char *plain;
static size_t plain_len;

/* openssl enc -e [args...] -in in -out out -pass file:pwfile */
static int
enc_status(const char *in, const char *out, ...)
{
	char *argv[TEST_MAX_ARGS], passarg[4200];
	const char *a;
	va_list ap;
	int n = 0;

	snprintf(passarg, sizeof(passarg), "file:%s", pwfile);
	argv[n++] = (char *)"openssl";
	argv[n++] = (char *)"enc";
	argv[n++] = (char *)"-e";
	va_start(ap, out);
	while ((a = va_arg(ap, const char *)) != NULL && n < TEST_MAX_ARGS - 9)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n++] = (char *)"-in";
	argv[n++] = (char *)in;
	argv[n++] = (char *)"-out";
	argv[n++] = (char *)out;
	argv[n++] = (char *)"-pass";
	argv[n++] = passarg;
	argv[n] = NULL;
	return test_spawnv(argv, "/dev/null", NULL, "/dev/null");
}

#define ENC(in, out, ...)						\
	do {								\
		int st_ = enc_status((in), (out), __VA_ARGS__,		\
		    (const char *)NULL);				\
		if (st_ != 0)						\
			TEST_FAIL("openssl enc %s failed: %d",		\
			    #__VA_ARGS__, st_);				\
	} while (0)

/* A file name in the test directory; kept until tpath_free_all(). */
static char *paths[512];
static size_t npaths;

static const char *
tpath(const char *name)
{
	char buf[4096];

	if (npaths == sizeof(paths) / sizeof(*paths))
		TEST_FAIL("too many paths");
	TEST_PATH(buf, dir, name);
	if ((paths[npaths] = strdup(buf)) == NULL)
		TEST_FAIL("out of memory");
	return paths[npaths++];
}

static void
tpath_free_all(void)
{
	while (npaths > 0)
		free(paths[--npaths]);
}

static struct envelope_params
params(void)
{
	struct envelope_params p;

	memset(&p, 0, sizeof(p));
	return p;
}

/*
 * envelope_open the n bytes at in; every message checked for the
 * passphrases. *plainp is left for the caller (NULL on failure).
 */
static int
open_mem(const unsigned char *in, size_t n, const struct envelope_params *p,
    const char *pass, struct secbuf **plainp, struct envelope_info *info,
    struct errbuf *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	memset(info, 0x5a, sizeof(*info));
	*plainp = (struct secbuf *)plainp;
	r = envelope_open(in, n, p, pass, pass ? strlen(pass) : 0, plainp,
	    info, e);
	ASSERT_STR_NOT_CONTAINS(e->msg, PASS);
	ASSERT_STR_NOT_CONTAINS(e->msg, WRONG);
	if (r != 0)
		ASSERT_PTR_EQ(*plainp, NULL);
	else
		ASSERT_PTR_NE(*plainp, NULL);
	return r;
}

static int
open_file(const char *path, const struct envelope_params *p,
    const char *pass, struct secbuf **plainp, struct envelope_info *info,
    struct errbuf *e)
{
	unsigned char *in;
	size_t n;
	int r;

	in = test_read_file(path, &n);
	r = open_mem(in, n, p, pass, plainp, info, e);
	free(in);
	return r;
}

/* Open path with p and PASS: must give back exactly want. */
static void
expect_plain(const char *path, const struct envelope_params *p,
    const unsigned char *want, size_t want_len, struct envelope_info *info)
{
	struct secbuf *out;
	struct errbuf e;
	int r;

	r = open_file(path, p, PASS, &out, info, &e);
	if (r != 0)
		TEST_FAIL("envelope_open %s: %d (%s)", path, r, e.msg);
	ASSERT_SIZE_T_EQ(secbuf_len(out), want_len);
	ASSERT_MEM_EQ(secbuf_data(out), want, want_len);
	ASSERT_INT_EQ(secbuf_data(out)[want_len], 0);
	secbuf_free(out);
}

static void
expect_code(const char *path, const struct envelope_params *p,
    const char *pass, int code, const char *msg_has)
{
	struct envelope_info info;
	struct secbuf *out;
	struct errbuf e;
	int r = open_file(path, p, pass, &out, &info, &e);

	if (r == 0 && code != 0)
		secbuf_free(out);
	if (r != code)
		TEST_FAIL("envelope_open %s: %d (%s), want %d", path, r, e.msg,
		    code);
	if (msg_has != NULL)
		ASSERT_STR_CONTAINS(e.msg, msg_has);
	ASSERT_SIZE_T_GT(strlen(e.msg), 0);
}

/* The 8 salt bytes of a binary openssl enc file. */
static void
file_salt(const char *path, unsigned char salt[8], size_t *lenp)
{
	unsigned char *b;
	size_t n;

	b = test_read_file(path, &n);
	ASSERT_SIZE_T_GT(n, 16);
	ASSERT_MEM_EQ(b, "Salted__", 8);
	memcpy(salt, b + 8, 8);
	*lenp = n;
	free(b);
}

static void
test_default_pbkdf2(void)
{
	const char *f = tpath("default.enc");
	struct envelope_params p = params();
	struct envelope_info info;
	unsigned char salt[8];
	size_t flen;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	file_salt(f, salt, &flen);
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.format, ENVELOPE_OPENSSL);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_INT_EQ(info.salted, 1);
	ASSERT_MEM_EQ(info.salt, salt, 8);
	ASSERT_SIZE_T_EQ(info.data_len, flen - 16);
	ASSERT_STR_EQ(info.cipher, "aes-256-cbc");
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
	ASSERT_STR_EQ(info.md, "sha256");
	ASSERT_INT_EQ(info.iter, 10000);

	/* The same with every default spelled out. */
	p.format = ENVELOPE_OPENSSL;
	p.cipher = "aes-256-cbc";
	p.kdf = ENVELOPE_KDF_PBKDF2;
	p.md = "sha256";
	p.iter = 10000;
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);

	/* Wrong settings are a passphrase error, not a crash or garbage. */
	p = params();
	p.kdf = ENVELOPE_KDF_EVP;
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, "passphrase");
	p = params();
	p.iter = 9999;
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, NULL);
	p = params();
	p.cipher = "aes-128-cbc";
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, "aes-128-cbc");

	/* -pbkdf2 alone (aes-256-cbc is the CLI's cipher of choice too). */
	f = tpath("pbkdf2-only.enc");
	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2", "-iter", "10000", "-md",
	    "sha256");
	p = params();
	expect_plain(f, &p, plain, plain_len, &info);
}

static void
test_iter_and_md(void)
{
	const char *f = tpath("iter1000.enc");
	struct envelope_params p = params();
	struct envelope_info info;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2", "-iter", "1000");
	p.iter = 1000;
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
	ASSERT_INT_EQ(info.iter, 1000);
	ASSERT_STR_EQ(info.md, "sha256");
	/* The default 10000 iterations do not open it. */
	p = params();
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, "passphrase");

	f = tpath("sha512.enc");
	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2", "-md", "sha512");
	p = params();
	p.md = "sha512";
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_STR_EQ(info.md, "sha512");
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
	ASSERT_INT_EQ(info.iter, 10000);
	/* md unset: sha256 does not fit: reported as a passphrase error. */
	p = params();
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, "passphrase");
	/* An unknown digest is UNSUPPORTED, and named. */
	p = params();
	p.md = "no-such-digest";
	expect_code(f, &p, PASS, SAFS_ERR_UNSUPPORTED, "no-such-digest");
}

static void
test_legacy_kdf(void)
{
	const char *f = tpath("legacy-sha256.enc");
	struct envelope_params p = params();
	struct envelope_info info;

	/* OpenSSL >= 1.1 without -pbkdf2: EVP_BytesToKey with sha256. */
	ENC(plainfile, f, "-aes-256-cbc", "-md", "sha256");
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_EVP);
	ASSERT_STR_EQ(info.md, "sha256");
	ASSERT_INT_EQ(info.iter, 1);
	ASSERT_INT_EQ(info.salted, 1);
	p.kdf = ENVELOPE_KDF_EVP;
	expect_plain(f, &p, plain, plain_len, &info);
	p.kdf = ENVELOPE_KDF_PBKDF2;
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, NULL);

	/* OpenSSL < 1.1: md5. kdf=auto finds it with no options at all. */
	f = tpath("legacy-md5.enc");
	ENC(plainfile, f, "-aes-256-cbc", "-md", "md5");
	p = params();
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_EVP);
	ASSERT_STR_EQ(info.md, "md5");
	ASSERT_INT_EQ(info.iter, 1);
	p.kdf = ENVELOPE_KDF_EVP;
	p.md = "md5";
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_STR_EQ(info.md, "md5");
	/* An explicit md= is honoured as given: no md5 fallback. */
	p = params();
	p.md = "sha256";
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, NULL);
	expect_code(f, &p, WRONG, SAFS_ERR_PASSPHRASE, NULL);
}

/* Plaintexts of three lengths 16 bytes apart, so the binary file is
 * 0, 1 and 2 mod 3 bytes long and its base64 ends in each of "", "=",
 * "==". */
static void
armored_one(const char *name, const char *extra, int single_line,
    size_t pad)
{
	char pin[4096];
	const char *f = tpath(name);
	struct envelope_params p = params();
	struct envelope_info info;
	unsigned char *want, *text, *bin, salt[8];
	size_t want_len, tlen, blen;
	char binf[4096];

	/* plain + pad spaces (JSON allows trailing whitespace) */
	want_len = plain_len + pad;
	want = malloc(want_len);
	ASSERT_PTR_NE(want, NULL);
	memcpy(want, plain, plain_len);
	memset(want + plain_len, ' ', pad);
	snprintf(pin, sizeof(pin), "%s/%s.plain", dir, name);
	test_write_file(pin, want, want_len, 0600);
	if (single_line)
		ENC(pin, f, "-aes-256-cbc", "-pbkdf2", extra, "-A");
	else
		ENC(pin, f, "-aes-256-cbc", "-pbkdf2", extra);
	text = test_read_file(f, &tlen);
	ASSERT_MEM_EQ(text, "U2FsdGVkX1", 10);
	if (single_line)
		ASSERT_TRUE(memchr(text, '\n', tlen - 1) == NULL);
	else if (tlen > 80)
		ASSERT_TRUE(memchr(text, '\n', tlen - 1) != NULL);
	free(text);
	/* Decode it with the CLI too, for the salt and length. */
	snprintf(binf, sizeof(binf), "%s.bin", f);
	TEST_RUN_OK(NULL, "openssl", "base64", "-d", single_line ? "-A" :
	    "-in", single_line ? "-in" : f, single_line ? f : "-out",
	    single_line ? "-out" : binf, single_line ? binf : NULL);
	bin = test_read_file(binf, &blen);
	ASSERT_SIZE_T_GT(blen, 16);
	memcpy(salt, bin + 8, 8);
	free(bin);

	expect_plain(f, &p, want, want_len, &info);
	ASSERT_INT_EQ(info.format, ENVELOPE_OPENSSL);
	ASSERT_INT_EQ(info.armored, 1);
	ASSERT_INT_EQ(info.salted, 1);
	ASSERT_MEM_EQ(info.salt, salt, 8);
	ASSERT_SIZE_T_EQ(info.data_len, blen - 16);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
	expect_code(f, &p, WRONG, SAFS_ERR_PASSPHRASE, "passphrase");
	free(want);
}

static void
test_armored(void)
{
	static const char *const multi[] = { "armor0.enc", "armor1.enc",
		"armor2.enc" };
	static const char *const single[] = { "armorA0.enc", "armorA1.enc",
		"armorA2.enc" };

	for (size_t k = 0; k < 3; k++) {
		armored_one(multi[k], "-a", 0, 16 * k);
		armored_one(single[k], "-a", 1, 16 * k);
	}
}

static int
cli_has_cipher(const char *name)
{
	/* The CLI's own answer: does it encrypt with this cipher? */
	return enc_status(plainfile, tpath("probe.enc"), name, "-pbkdf2",
	    (const char *)NULL) == 0;
}

static void
test_other_ciphers(void)
{
	static const char *const ciphers[] = { "aes-128-cbc", "aes-256-ctr",
		"chacha20", "camellia-256-cbc", "aes-192-cbc", "aes-256-cfb",
		"aes-256-ofb" };
	struct envelope_params p;
	struct envelope_info info;
	char name[64], opt[64];

	for (size_t i = 0; i < sizeof(ciphers) / sizeof(*ciphers); i++) {
		const char *f;

		snprintf(opt, sizeof(opt), "-%s", ciphers[i]);
		if (strcmp(ciphers[i], "camellia-256-cbc") == 0 &&
		    !cli_has_cipher(opt)) {
			printf("# openssl CLI has no %s, skipped\n",
			    ciphers[i]);
			continue;
		}
		snprintf(name, sizeof(name), "%s.enc", ciphers[i]);
		f = tpath(name);
		ENC(plainfile, f, opt, "-pbkdf2");
		p = params();
		p.cipher = ciphers[i];
		expect_plain(f, &p, plain, plain_len, &info);
		ASSERT_STR_EQ(info.cipher, ciphers[i]);
		ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
		expect_code(f, &p, WRONG, SAFS_ERR_PASSPHRASE, "passphrase");
		/* Upper-case names are OpenSSL names as well. */
		{
			char up[64];
			size_t k;

			for (k = 0; ciphers[i][k] != '\0'; k++)
				up[k] = (char)(ciphers[i][k] >= 'a' &&
				    ciphers[i][k] <= 'z' ? ciphers[i][k] - 32 :
				    ciphers[i][k]);
			up[k] = '\0';
			p.cipher = up;
			expect_plain(f, &p, plain, plain_len, &info);
		}
		/* Left at the default cipher, it must not open (stream
		 * ciphers may also fail as FORMAT: not whole blocks). */
		p = params();
		{
			struct secbuf *out;
			struct errbuf e;
			int r = open_file(f, &p, PASS, &out, &info, &e);

			if (r == 0)
				secbuf_free(out);
			ASSERT_TRUE(r == SAFS_ERR_PASSPHRASE ||
			    r == SAFS_ERR_FORMAT);
		}
	}
}

static void
test_nosalt(void)
{
	const char *f = tpath("nosalt.enc");
	struct envelope_params p = params();
	struct envelope_info info;
	unsigned char *b;
	size_t n;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2", "-nosalt");
	b = test_read_file(f, &n);
	ASSERT_TRUE(n < 8 || memcmp(b, "Salted__", 8) != 0);
	free(b);
	/* Nothing to recognise it by: auto refuses, naming the way. */
	expect_code(f, &p, PASS, SAFS_ERR_FORMAT, "format=openssl");
	p.format = ENVELOPE_OPENSSL;
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.format, ENVELOPE_OPENSSL);
	ASSERT_INT_EQ(info.salted, 0);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_SIZE_T_EQ(info.data_len, n);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_PBKDF2);
	expect_code(f, &p, WRONG, SAFS_ERR_PASSPHRASE, NULL);

	f = tpath("nosalt-legacy.enc");
	ENC(plainfile, f, "-aes-256-cbc", "-md", "sha256", "-nosalt");
	expect_plain(f, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.kdf, ENVELOPE_KDF_EVP);
	ASSERT_INT_EQ(info.salted, 0);
}

static void
test_wrong_passphrase(void)
{
	const char *f = tpath("wrongpw.enc");
	struct envelope_params p = params();

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	expect_code(f, &p, WRONG, SAFS_ERR_PASSPHRASE, "passphrase");
	/* A prefix, a longer string, a case change, the empty string. */
	expect_code(f, &p, "Pw-7f3a9c-distinct", SAFS_ERR_PASSPHRASE, NULL);
	expect_code(f, &p, PASS "x", SAFS_ERR_PASSPHRASE, NULL);
	expect_code(f, &p, "pw-7f3a9c-distinct!", SAFS_ERR_PASSPHRASE, NULL);
	expect_code(f, &p, "", SAFS_ERR_PASSPHRASE, NULL);
	/* No passphrase at all for an encrypted file. */
	expect_code(f, &p, NULL, SAFS_ERR_NOPASS, NULL);
}

/* A copy of file src cut to n bytes (or with byte at flip ^= mask). */
static const char *
mutate(const char *src, const char *name, size_t n, long flip,
    unsigned char mask)
{
	const char *f = tpath(name);
	unsigned char *b;
	size_t len;

	b = test_read_file(src, &len);
	if (n > len)
		n = len;
	if (flip >= 0) {
		ASSERT_INT_LT(flip, (long)len);
		b[flip] ^= mask;
	}
	test_write_file(f, b, n, 0600);
	free(b);
	return f;
}

static void
test_truncated(void)
{
	const char *f = tpath("full.enc"), *t;
	struct envelope_params p = params();
	unsigned char *b;
	size_t len;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	b = test_read_file(f, &len);
	free(b);
	ASSERT_SIZE_T_GT(len, 48);

	t = mutate(f, "empty.enc", 0, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, "empty");
	/* Cut in the middle of a block, and one byte short. */
	t = mutate(f, "cut-mid.enc", len - 7, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, "truncated");
	t = mutate(f, "cut-1.enc", len - 1, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
	/* The header alone: "Salted__" + salt, no data. */
	t = mutate(f, "cut-header.enc", 16, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, "truncated");
	/* Inside the header. */
	t = mutate(f, "cut-salt.enc", 12, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, "truncated");
	t = mutate(f, "cut-magic.enc", 8, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
	t = mutate(f, "cut-magic5.enc", 5, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
	/* Whole blocks missing from the end: the padding check fails. */
	t = mutate(f, "cut-block.enc", len - 16, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_PASSPHRASE, NULL);
	/* The same for envelope_inspect, which needs no passphrase. */
	{
		struct envelope_info info;
		struct errbuf e = { "" };
		unsigned char *in = test_read_file(tpath("cut-salt.enc"),
		    &len);

		ASSERT_INT_EQ(envelope_inspect(in, len, ENVELOPE_AUTO, &info,
		    &e), SAFS_ERR_FORMAT);
		free(in);
		ASSERT_INT_EQ(envelope_inspect((const unsigned char *)"", 0,
		    ENVELOPE_AUTO, &info, &e), SAFS_ERR_FORMAT);
	}

	/* Armoured and cut: the base64 is incomplete. */
	f = tpath("full-a.enc");
	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2", "-a", "-A");
	t = mutate(f, "cut-a.enc", 30, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
	t = mutate(f, "cut-a-hdr.enc", 12, -1, 0);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
	/* Armour with a bad character in it. */
	t = mutate(f, "bad-a.enc", 1000000, 20, 0x80);
	expect_code(t, &p, PASS, SAFS_ERR_FORMAT, NULL);
}

/*
 * A flipped bit gives a clean code: PASSPHRASE or FORMAT, or, when the
 * padding survives, a decryption whose bytes differ from the original,
 * which account_load then rejects. Never a crash, never the original.
 */
static void
expect_damaged(const char *path)
{
	struct envelope_params p = params();
	struct envelope_info info;
	struct secbuf *out;
	struct errbuf e;
	int r = open_file(path, &p, PASS, &out, &info, &e);

	if (r == 0) {
		struct account *a = (struct account *)&a;

		ASSERT_TRUE(secbuf_len(out) != plain_len ||
		    memcmp(secbuf_data(out), plain, plain_len) != 0);
		ASSERT_INT_NE(account_load(secbuf_data(out), secbuf_len(out),
		    &a, &e), 0);
		ASSERT_PTR_EQ(a, NULL);
		secbuf_free(out);
		return;
	}
	if (r != SAFS_ERR_PASSPHRASE && r != SAFS_ERR_FORMAT)
		TEST_FAIL("%s: %d (%s)", path, r, e.msg);
}

static void
test_bit_flips(void)
{
	const char *f = tpath("flip.enc"), *t;
	unsigned char *b;
	size_t len;
	long pos[8];
	char name[64];

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	b = test_read_file(f, &len);
	free(b);
	pos[0] = 8;			/* first salt byte */
	pos[1] = 15;			/* last salt byte */
	pos[2] = 16;			/* first ciphertext byte */
	pos[3] = (long)len / 2;		/* mid-file */
	pos[4] = (long)len - 16;	/* first byte of the last block */
	pos[5] = (long)len - 1;		/* the last byte (padding) */
	pos[6] = (long)len - 17;	/* end of the block before */
	pos[7] = 3;			/* inside "Salted__" */
	for (size_t i = 0; i < sizeof(pos) / sizeof(*pos); i++) {
		for (unsigned mask = 0x01; mask <= 0x80; mask <<= 3) {
			snprintf(name, sizeof(name), "flip-%ld-%02x.enc",
			    pos[i], mask);
			t = mutate(f, name, len, pos[i], (unsigned char)mask);
			expect_damaged(t);
		}
	}
	/* A stream cipher has no padding to fail: the decryption result
	 * is checked instead. */
	f = tpath("flip-ctr.enc");
	ENC(plainfile, f, "-aes-256-ctr", "-pbkdf2");
	b = test_read_file(f, &len);
	free(b);
	t = mutate(f, "flip-ctr-salt.enc", len, 9, 0x04);
	{
		struct envelope_params p = params();
		struct envelope_info info;
		struct secbuf *out;
		struct errbuf e;

		p.cipher = "aes-256-ctr";
		ASSERT_INT_EQ(open_file(t, &p, PASS, &out, &info, &e),
		    SAFS_ERR_PASSPHRASE);
	}
}

static void
test_garbage(void)
{
	const char *f = tpath("random.bin");
	struct envelope_params p = params();
	struct envelope_info info;
	struct errbuf e;
	unsigned char *b;
	size_t len;

	TEST_RUN_OK(NULL, "openssl", "rand", "-out", f, "4096");
	/* Random, but not by chance starting like JSON ('{', '[', space)
	 * or "Salted__": those bytes are decided here. */
	b = test_read_file(f, &len);
	ASSERT_SIZE_T_EQ(len, 4096);
	b[0] = 0x80;
	test_write_file(f, b, len, 0600);
	expect_code(f, &p, PASS, SAFS_ERR_FORMAT, "not recognised");
	ASSERT_INT_EQ(envelope_inspect(b, len, ENVELOPE_AUTO, &info, &e),
	    SAFS_ERR_FORMAT);
	/* Forced to be read as openssl enc: no header, 4096 bytes of
	 * "ciphertext" that the key does not fit. */
	p.format = ENVELOPE_OPENSSL;
	expect_code(f, &p, PASS, SAFS_ERR_PASSPHRASE, NULL);
	/* As an armoured file that is not base64 past its magic. */
	memcpy(b, "U2FsdGVkX1", 10);
	test_write_file(f, b, len, 0600);
	p = params();
	expect_code(f, &p, PASS, SAFS_ERR_FORMAT, "base64");
	free(b);
	/* Text that is neither. */
	f = tpath("text.txt");
	test_write_str(f, "hello, world\n", 0600);
	expect_code(f, &p, PASS, SAFS_ERR_FORMAT, NULL);
}

static void
test_unsupported_cipher(void)
{
	const char *f = tpath("unsup.enc");
	struct envelope_params p = params();
	static const char *const aead[] = { "aes-256-gcm", "aes-128-gcm",
		"aes-256-ccm", "chacha20-poly1305", "aes-256-ocb" };

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	p.cipher = "no-such-cipher";
	expect_code(f, &p, PASS, SAFS_ERR_UNSUPPORTED, "no-such-cipher");
	/* `openssl enc` cannot write AEAD files (no tag): refused, not
	 * "decrypted" unauthenticated. */
	for (size_t i = 0; i < sizeof(aead) / sizeof(*aead); i++) {
		p.cipher = aead[i];
		expect_code(f, &p, PASS, SAFS_ERR_UNSUPPORTED, aead[i]);
	}
	p.cipher = "aes-256-xts";
	expect_code(f, &p, PASS, SAFS_ERR_UNSUPPORTED, NULL);
	p.cipher = "id-aes256-wrap";
	expect_code(f, &p, PASS, SAFS_ERR_UNSUPPORTED, NULL);
}

static void
test_plaintext(void)
{
	struct envelope_params p = params();
	struct envelope_info info;
	static const char bom[] = "\xef\xbb\xbf{\"a\":\"b\"}";
	static const char spaced[] = "\n\t \r\n{\"a\":1}";
	struct secbuf *out;
	struct errbuf e;

	expect_code(plainfile, &p, NULL, SAFS_ERR_PLAINTEXT,
	    "allow_plaintext");
	expect_code(plainfile, &p, PASS, SAFS_ERR_PLAINTEXT, NULL);
	p.allow_plaintext = 1;
	expect_plain(plainfile, &p, plain, plain_len, &info);
	ASSERT_INT_EQ(info.format, ENVELOPE_PLAIN);
	ASSERT_INT_EQ(info.salted, 0);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_SIZE_T_EQ(info.data_len, plain_len);
	/* No passphrase needed, and one given is ignored. */
	ASSERT_INT_EQ(open_file(plainfile, &p, NULL, &out, &info, &e), 0);
	secbuf_free(out);
	/* A BOM and leading whitespace still read as JSON; copied as is. */
	ASSERT_INT_EQ(open_mem((const unsigned char *)bom, sizeof(bom) - 1,
	    &p, NULL, &out, &info, &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(out), sizeof(bom) - 1);
	ASSERT_MEM_EQ(secbuf_data(out), bom, sizeof(bom) - 1);
	secbuf_free(out);
	ASSERT_INT_EQ(open_mem((const unsigned char *)spaced,
	    sizeof(spaced) - 1, &p, NULL, &out, &info, &e), 0);
	ASSERT_MEM_EQ(secbuf_data(out), spaced, sizeof(spaced) - 1);
	secbuf_free(out);
	/* format=plain takes any bytes as the JSON (account_load judges). */
	p.format = ENVELOPE_PLAIN;
	ASSERT_INT_EQ(open_mem((const unsigned char *)"xyz", 3, &p, NULL,
	    &out, &info, &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(out), 3);
	secbuf_free(out);
	/* ... but still only with allow_plaintext. */
	p.allow_plaintext = 0;
	ASSERT_INT_EQ(open_mem((const unsigned char *)"xyz", 3, &p, NULL,
	    &out, &info, &e), SAFS_ERR_PLAINTEXT);
}

static void
test_age_malformed(void)
{
	/* Real age files are test_age.c's; here only what the envelope
	 * makes of things that merely start like one. */
	static const char age[] = "age-encryption.org/v1\n-> scrypt "
	    "abcdefghijklmnop 18\nxyz\n--- 0123456789\n\x01\x02\x03";
	static const char intro_only[] = "age-encryption.org/v1\n";
	static const char armor[] = "-----BEGIN AGE ENCRYPTED FILE-----\n"
	    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n"
	    "-----END AGE ENCRYPTED FILE-----\n";
	struct envelope_params p = params();
	struct envelope_info info;
	struct secbuf *out;
	struct errbuf e;

	ASSERT_INT_EQ(open_mem((const unsigned char *)age, sizeof(age) - 1,
	    &p, PASS, &out, &info, &e), SAFS_ERR_FORMAT);
	ASSERT_STR_CONTAINS(e.msg, "age");
	ASSERT_INT_EQ(open_mem((const unsigned char *)intro_only,
	    sizeof(intro_only) - 1, &p, PASS, &out, &info, &e),
	    SAFS_ERR_FORMAT);
	/* The armour decodes to the bare intro line: truncated. */
	ASSERT_INT_EQ(open_mem((const unsigned char *)armor,
	    sizeof(armor) - 1, &p, PASS, &out, &info, &e), SAFS_ERR_FORMAT);
	ASSERT_INT_EQ(envelope_inspect((const unsigned char *)age,
	    sizeof(age) - 1, ENVELOPE_AUTO, &info, &e), SAFS_ERR_FORMAT);
	/* Recognised as age (needs a passphrase), even when malformed. */
	ASSERT_INT_NE(envelope_needs_passphrase((const unsigned char *)age,
	    sizeof(age) - 1, &p), 0);
	/* format=age on something else. */
	p.format = ENVELOPE_AGE;
	ASSERT_INT_EQ(open_mem(plain, plain_len, &p, PASS, &out, &info, &e),
	    SAFS_ERR_FORMAT);
}

static void
test_inspect(void)
{
	const char *f = tpath("inspect.enc"), *fa = tpath("inspect-a.enc");
	struct envelope_info info;
	struct errbuf e;
	unsigned char *b, salt[8];
	size_t n, flen;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	file_salt(f, salt, &flen);
	b = test_read_file(f, &n);
	memset(&info, 0x5a, sizeof(info));
	ASSERT_INT_EQ(envelope_inspect(b, n, ENVELOPE_AUTO, &info, &e), 0);
	ASSERT_INT_EQ(info.format, ENVELOPE_OPENSSL);
	ASSERT_INT_EQ(info.salted, 1);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_MEM_EQ(info.salt, salt, 8);
	ASSERT_SIZE_T_EQ(info.data_len, n - 16);
	/* Nothing known yet about what a passphrase would unlock. */
	ASSERT_STR_EQ(info.cipher, "");
	ASSERT_STR_EQ(info.md, "");
	ASSERT_INT_EQ(info.iter, 0);
	free(b);

	/* Armoured: the salt is found under the base64. */
	{
		struct envelope_params p = params();
		struct secbuf *out;

		ENC(plainfile, fa, "-aes-256-cbc", "-pbkdf2", "-a");
		b = test_read_file(fa, &n);
		ASSERT_INT_EQ(envelope_inspect(b, n, ENVELOPE_AUTO, &info, &e),
		    0);
		ASSERT_INT_EQ(info.armored, 1);
		ASSERT_INT_EQ(info.salted, 1);
		memcpy(salt, info.salt, 8);
		ASSERT_INT_EQ(open_mem(b, n, &p, PASS, &out, &info, &e), 0);
		ASSERT_MEM_EQ(info.salt, salt, 8);
		secbuf_free(out);
		free(b);
	}

	/* Plain JSON. */
	ASSERT_INT_EQ(envelope_inspect(plain, plain_len, ENVELOPE_AUTO, &info,
	    &e), 0);
	ASSERT_INT_EQ(info.format, ENVELOPE_PLAIN);
	ASSERT_INT_EQ(info.salted, 0);
	ASSERT_SIZE_T_EQ(info.data_len, plain_len);
}

static void
test_needs_passphrase(void)
{
	const char *f = tpath("needs.enc");
	struct envelope_params p = params();
	unsigned char *b;
	size_t n;

	ENC(plainfile, f, "-aes-256-cbc", "-pbkdf2");
	b = test_read_file(f, &n);
	ASSERT_INT_NE(envelope_needs_passphrase(b, n, &p), 0);
	ASSERT_INT_EQ(envelope_needs_passphrase(plain, plain_len, &p), 0);
	p.allow_plaintext = 1;
	ASSERT_INT_EQ(envelope_needs_passphrase(plain, plain_len, &p), 0);
	p.format = ENVELOPE_OPENSSL;
	ASSERT_INT_NE(envelope_needs_passphrase(plain, plain_len, &p), 0);
	p.format = ENVELOPE_PLAIN;
	ASSERT_INT_EQ(envelope_needs_passphrase(b, n, &p), 0);
	free(b);
}

static void
test_names(void)
{
	static const char *const formats[] = { "auto", "openssl", "age",
		"plain" };
	static const char *const kdfs[] = { "auto", "pbkdf2", "evp" };

	for (int i = 0; i < 4; i++) {
		ASSERT_INT_EQ(envelope_format_parse(formats[i]), i);
		ASSERT_STR_EQ(envelope_format_name(i), formats[i]);
	}
	ASSERT_INT_EQ(envelope_format_parse("OPENSSL"), -1);
	ASSERT_INT_EQ(envelope_format_parse(""), -1);
	ASSERT_INT_EQ(envelope_format_parse("zip"), -1);
	ASSERT_PTR_NE(envelope_format_name(99), NULL);
	ASSERT_PTR_NE(envelope_format_name(-1), NULL);
	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(envelope_kdf_parse(kdfs[i]), i);
		ASSERT_STR_EQ(envelope_kdf_name(i), kdfs[i]);
	}
	ASSERT_INT_EQ(envelope_kdf_parse("scrypt"), -1);
	ASSERT_PTR_NE(envelope_kdf_name(7), NULL);
	ASSERT_INT_EQ(ENVELOPE_AUTO, 0);
	ASSERT_INT_EQ(ENVELOPE_KDF_AUTO, 0);
}

int
main(void)
{
	static const char json[] = "{\n  \"type\": \"service_account\",\n"
	    "  \"client_email\": \"sa@acme.iam.gserviceaccount.com\",\n"
	    "  \"note\": \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 "
	    "tab\\t \\\"q\\\" \\u00e9\"\n}\n";

	test_init();
	dir = test_tmpdir_new();
	snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
	test_write_str(pwfile, PASS "\n", 0600);
	snprintf(plainfile, sizeof(plainfile), "%s/plain.json", dir);
	test_write_str(plainfile, json, 0600);
	plain = test_read_file(plainfile, &plain_len);

	TEST(test_default_pbkdf2);
	TEST(test_iter_and_md);
	TEST(test_legacy_kdf);
	TEST(test_armored);
	TEST(test_other_ciphers);
	TEST(test_nosalt);
	TEST(test_wrong_passphrase);
	TEST(test_truncated);
	TEST(test_bit_flips);
	TEST(test_garbage);
	TEST(test_unsupported_cipher);
	TEST(test_plaintext);
	TEST(test_age_malformed);
	TEST(test_inspect);
	TEST(test_needs_passphrase);
	TEST(test_names);

	free(plain);
	tpath_free_all();
	test_tmpdir_free(dir);
	return test_done();
}
