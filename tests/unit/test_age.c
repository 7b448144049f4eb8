/* SPDX-License-Identifier: MIT */
/*
 * age: passphrase files (scrypt stanza, header MAC, ChaCha20-Poly1305
 * STREAM), binary and armoured. Two sources of files:
 *  - the real age CLI, driven through a pty (it reads passphrases from
 *    the terminal only), for interoperability;
 *  - files built here from the age v1 spec with OpenSSL at a low scrypt
 *    work factor, for the chunk edge cases and every kind of damage. One
 *    of them is decrypted by the real CLI, so the builder is checked too.
 */
#include <signal.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "age.h"
#include "envelope.h"
#include "secmem.h"
#include "test.h"

#define PASS "age-Pw-5b2e-distinct"
#define WRONG "age-Wrong-77c1"
#define CHUNK 65536
#define TAG 16
#define LOW_N 10	/* scrypt work factor of the built files: fast */

static char *dir;
static int have_age_cli;

/* ---- building age files from the spec ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ASSERT_PTR_NE(b->p, NULL);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Unpadded standard base64 (age's encoding). */
static void
buf_b64raw(struct buf *b, const unsigned char *p, size_t n)
{
	char tmp[128];
	int len;

	ASSERT_SIZE_T_GT(sizeof(tmp) / 4 * 3, n);
	len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
	while (len > 0 && tmp[len - 1] == '=')
		len--;
	buf_add(b, tmp, (size_t)len);
}

/* HKDF-SHA-256 (RFC 5869), one output block, built from HMAC alone. */
static void
hkdf32(const unsigned char *salt, size_t saltlen, const unsigned char *ikm,
    size_t ikmlen, const char *info, unsigned char out[32])
{
	unsigned char zero[32] = { 0 }, prk[32], msg[64];
	size_t n = strlen(info);

	ASSERT_PTR_NE(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
	    saltlen ? salt : zero, saltlen ? saltlen : 32, ikm, ikmlen, prk,
	    32, NULL), NULL);
	ASSERT_SIZE_T_GT(sizeof(msg), n);
	memcpy(msg, info, n);
	msg[n] = 1;
	ASSERT_PTR_NE(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, prk, 32,
	    msg, n + 1, out, 32, NULL), NULL);
}

static void
seal(const unsigned char key[32], const unsigned char nonce[12],
    const unsigned char *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	ASSERT_PTR_NE(ctx, NULL);
	ASSERT_INT_EQ(EVP_EncryptInit_ex2(ctx, EVP_chacha20_poly1305(), key,
	    nonce, NULL), 1);
	ASSERT_INT_EQ(EVP_EncryptUpdate(ctx, out, &l1, in, (int)n), 1);
	ASSERT_INT_EQ(EVP_EncryptFinal_ex(ctx, out + l1, &l2), 1);
	ASSERT_SIZE_T_EQ((size_t)(l1 + l2), n);
	ASSERT_INT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG,
	    out + n), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* STREAM nonce: an 11-byte big-endian chunk counter, then the last-chunk
 * flag. Bytes above the counter's 64 bits are zero. */
static void
stream_nonce(unsigned char nonce[12], uint64_t counter, int last)
{
	memset(nonce, 0, 12);
	for (int i = 10; i >= 3; i--) {
		nonce[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	nonce[11] = (unsigned char)(last ? 1 : 0);
}

struct craft {
	int log_n;		/* 0: LOW_N */
	int fake_log_n;		/* write this work factor, skip scrypt */
	int extra_stanza;	/* an X25519 stanza after the scrypt one */
	int two_scrypt;		/* a second scrypt stanza */
	int empty_last;		/* full chunks, then an empty last one */
	int armor;
};

/* An age v1 passphrase file of n bytes at pt (malloc'd, *lenp). */
static unsigned char *
craft_age(const unsigned char *pt, size_t n, const char *pass,
    const struct craft *o, size_t *lenp)
{
	static const char label[] = "age-encryption.org/v1/scrypt";
	unsigned char filekey[16], salt[16], ssalt[sizeof(label) - 1 + 16];
	unsigned char wrap[32], body[32], mackey[32], mac[32], nonce16[16];
	unsigned char pkey[32], nonce[12], rnd[32], *chunk;
	struct buf h = { 0 }, out = { 0 };
	int log_n = o->log_n ? o->log_n : LOW_N;
	char num[16];
	size_t off = 0;
	uint64_t counter = 0;

	ASSERT_INT_EQ(RAND_bytes(filekey, 16), 1);
	ASSERT_INT_EQ(RAND_bytes(salt, 16), 1);
	memcpy(ssalt, label, sizeof(label) - 1);
	memcpy(ssalt + sizeof(label) - 1, salt, 16);
	if (o->fake_log_n) {
		ASSERT_INT_EQ(RAND_bytes(wrap, 32), 1);
		log_n = o->fake_log_n;
	} else {
		ASSERT_INT_EQ(EVP_PBE_scrypt(pass, strlen(pass), ssalt,
		    sizeof(ssalt), (uint64_t)1 << log_n, 8, 1, 64u << 20, wrap,
		    32), 1);
	}
	memset(nonce, 0, sizeof(nonce));
	seal(wrap, nonce, filekey, 16, body);

	buf_str(&h, "age-encryption.org/v1\n-> scrypt ");
	buf_b64raw(&h, salt, 16);
	snprintf(num, sizeof(num), " %d\n", log_n);
	buf_str(&h, num);
	buf_b64raw(&h, body, 32);
	buf_str(&h, "\n");
	if (o->two_scrypt) {
		buf_str(&h, "-> scrypt ");
		buf_b64raw(&h, salt, 16);
		buf_str(&h, num);
		buf_b64raw(&h, body, 32);
		buf_str(&h, "\n");
	}
	if (o->extra_stanza) {
		ASSERT_INT_EQ(RAND_bytes(rnd, 32), 1);
		buf_str(&h, "-> X25519 ");
		buf_b64raw(&h, rnd, 32);
		buf_str(&h, "\n");
		buf_b64raw(&h, rnd, 32);
		buf_str(&h, "\n");
	}
	buf_str(&h, "---");
	hkdf32(NULL, 0, filekey, 16, "header", mackey);
	ASSERT_PTR_NE(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mackey,
	    32, h.p, h.len, mac, 32, NULL), NULL);
	buf_str(&h, " ");
	buf_b64raw(&h, mac, 32);
	buf_str(&h, "\n");

	ASSERT_INT_EQ(RAND_bytes(nonce16, 16), 1);
	buf_add(&h, nonce16, 16);
	hkdf32(nonce16, 16, filekey, 16, "payload", pkey);
	chunk = malloc(CHUNK + TAG);
	ASSERT_PTR_NE(chunk, NULL);
	do {
		size_t take = n - off < CHUNK ? n - off : CHUNK;
		int last = off + take == n && !o->empty_last;

		stream_nonce(nonce, counter, last);
		seal(pkey, nonce, pt + off, take, chunk);
		buf_add(&h, chunk, take + TAG);
		off += take;
		counter++;
		if (off == n && o->empty_last) {
			stream_nonce(nonce, counter, 1);
			seal(pkey, nonce, pt, 0, chunk);
			buf_add(&h, chunk, TAG);
			break;
		}
	} while (off < n);
	free(chunk);

	if (o->armor) {
		char *b64 = malloc(h.len / 3 * 4 + 8);
		int blen;

		ASSERT_PTR_NE(b64, NULL);
		blen = EVP_EncodeBlock((unsigned char *)b64, h.p, (int)h.len);
		buf_str(&out, "-----BEGIN AGE ENCRYPTED FILE-----\n");
		for (int i = 0; i < blen; i += 64) {
			buf_add(&out, b64 + i, (size_t)(blen - i < 64 ?
			    blen - i : 64));
			buf_str(&out, "\n");
		}
		buf_str(&out, "-----END AGE ENCRYPTED FILE-----\n");
		free(b64);
		free(h.p);
		h = out;
	}
	OPENSSL_cleanse(wrap, sizeof(wrap));
	*lenp = h.len;
	return h.p;
}

/* Where the payload (its 16-byte nonce) starts in a binary file. */
static size_t
payload_off(const unsigned char *f, size_t n)
{
	const unsigned char *p = f;

	for (;;) {
		const unsigned char *nl = memchr(p, '\n', n - (size_t)(p - f));

		ASSERT_PTR_NE(nl, NULL);
		if (nl - p >= 4 && memcmp(p, "--- ", 4) == 0)
			return (size_t)(nl + 1 - f);
		p = nl + 1;
	}
}

/* ---- opening ---- */

static int
open_age(const unsigned char *in, size_t n, const char *pass,
    struct secbuf **outp, struct age_info *info, struct errbuf *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	memset(info, 0x5a, sizeof(*info));
	*outp = (struct secbuf *)outp;
	r = age_open(in, n, pass, strlen(pass), outp, info, e);
	ASSERT_STR_NOT_CONTAINS(e->msg, PASS);
	ASSERT_STR_NOT_CONTAINS(e->msg, WRONG);
	if (r == 0)
		ASSERT_PTR_NE(*outp, NULL);
	else {
		ASSERT_PTR_EQ(*outp, NULL);
		ASSERT_SIZE_T_GT(strlen(e->msg), 0);
	}
	return r;
}

static void
expect_open(const unsigned char *in, size_t n, const unsigned char *want,
    size_t wlen, struct age_info *info)
{
	struct secbuf *out;
	struct errbuf e;
	int r = open_age(in, n, PASS, &out, info, &e);

	if (r != 0)
		TEST_FAIL("age_open: %d (%s)", r, e.msg);
	ASSERT_SIZE_T_EQ(secbuf_len(out), wlen);
	ASSERT_MEM_EQ(secbuf_data(out), want, wlen);
	ASSERT_INT_EQ(secbuf_data(out)[wlen], 0);
	secbuf_free(out);
}

static void
expect_err(const unsigned char *in, size_t n, const char *pass, int code,
    const char *has)
{
	struct age_info info;
	struct secbuf *out;
	struct errbuf e;
	int r = open_age(in, n, pass, &out, &info, &e);

	if (r == 0 && code != 0)
		secbuf_free(out);
	if (r != code)
		TEST_FAIL("age_open: %d (%s), want %d", r, e.msg, code);
	if (has != NULL)
		ASSERT_STR_CONTAINS(e.msg, has);
}

static unsigned char *
pattern(size_t n)
{
	unsigned char *p = malloc(n + 1);

	ASSERT_PTR_NE(p, NULL);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(' ' + (i * 31 + i / 977) % 90);
	return p;
}

static void
test_chunk_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 100, CHUNK - 1, CHUNK,
		CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 4464 };
	struct craft o = { 0 };
	struct age_info info;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		unsigned char *pt = pattern(sizes[i]), *f;
		size_t n;

		f = craft_age(pt, sizes[i], PASS, &o, &n);
		expect_open(f, n, pt, sizes[i], &info);
		ASSERT_INT_EQ(info.armored, 0);
		ASSERT_INT_EQ(info.log_n, LOW_N);
		ASSERT_SIZE_T_EQ(info.payload_len, n - payload_off(f, n));
		free(f);
		free(pt);
	}
}

static void
test_armored_built(void)
{
	struct craft o = { .armor = 1 };
	struct age_info info;
	unsigned char *pt = pattern(3000), *f, *g;
	size_t n, k;
	struct errbuf e;

	f = craft_age(pt, 3000, PASS, &o, &n);
	ASSERT_MEM_EQ(f, "-----BEGIN AGE ENCRYPTED FILE-----\n", 35);
	expect_open(f, n, pt, 3000, &info);
	ASSERT_INT_EQ(info.armored, 1);
	ASSERT_INT_EQ(info.log_n, LOW_N);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), 0);
	ASSERT_INT_EQ(info.armored, 1);
	/* CRLF line ends (a file that went through Windows) still read. */
	g = malloc(2 * n);
	ASSERT_PTR_NE(g, NULL);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i] == '\n')
			g[k++] = '\r';
		g[k++] = f[i];
	}
	expect_open(g, k, pt, 3000, &info);
	/* Damaged armour. */
	expect_err(f, n - 20, PASS, SAFS_ERR_FORMAT, "truncated");
	memcpy(g, f, n);
	g[n] = 'x';
	expect_err(g, n + 1, PASS, SAFS_ERR_FORMAT, "after");
	memcpy(g, f, n);
	g[40] = '*';
	expect_err(g, n, PASS, SAFS_ERR_FORMAT, "base64");
	expect_err(f, 36, PASS, SAFS_ERR_FORMAT, NULL);
	free(g);
	free(f);
	free(pt);
}

static void
test_wrong_passphrase(void)
{
	struct craft o = { 0 };
	unsigned char *pt = pattern(500), *f;
	size_t n;

	f = craft_age(pt, 500, PASS, &o, &n);
	expect_err(f, n, WRONG, SAFS_ERR_PASSPHRASE, "passphrase");
	expect_err(f, n, PASS "x", SAFS_ERR_PASSPHRASE, NULL);
	expect_err(f, n, "", SAFS_ERR_PASSPHRASE, NULL);
	free(f);
	free(pt);
}

/* A copy of f with byte at i replaced by c. */
static unsigned char *
with_byte(const unsigned char *f, size_t n, size_t i, unsigned char c)
{
	unsigned char *g = malloc(n + 1);

	ASSERT_PTR_NE(g, NULL);
	memcpy(g, f, n);
	g[i] = c;
	return g;
}

/* Every kind of damage to a file of len plaintext bytes. */
static void
damage_suite(size_t len)
{
	struct craft o = { 0 };
	size_t n, po, i, nchunks = len / CHUNK + 1;
	unsigned char *pt = pattern(len), *f, *g;
	const unsigned char *macline;
	struct age_info info;

	f = craft_age(pt, len, PASS, &o, &n);
	po = payload_off(f, n);
	/* Undamaged, it opens: the failures below are the damage's. */
	expect_open(f, n, pt, len, &info);
	macline = (const unsigned char *)strstr((const char *)f, "\n--- ") +
	    5;

	/* The header MAC: authenticated, so damage is FORMAT, for sure. */
	i = (size_t)(macline - f) + 10;
	g = with_byte(f, n, i, f[i] == 'A' ? 'B' : 'A');
	expect_err(g, n, PASS, SAFS_ERR_FORMAT, "damaged");
	free(g);
	/* The stanza salt: the wrap key changes, so the stanza does not
	 * open: indistinguishable from a wrong passphrase. */
	i = strlen("age-encryption.org/v1\n-> scrypt ") + 3;
	g = with_byte(f, n, i, f[i] == 'A' ? 'B' : 'A');
	expect_err(g, n, PASS, SAFS_ERR_PASSPHRASE, NULL);
	free(g);
	/* The work factor written as 11: another key again. */
	{
		char *w = strstr((char *)f, " 10\n");

		ASSERT_PTR_NE(w, NULL);
		g = with_byte(f, n, (size_t)((unsigned char *)w - f) + 2, '1');
		expect_err(g, n, PASS, SAFS_ERR_PASSPHRASE, NULL);
		free(g);
	}
	/* The payload nonce, a ciphertext byte of each chunk, the tag. */
	g = with_byte(f, n, po + 3, f[po + 3] ^ 0x01);
	expect_err(g, n, PASS, SAFS_ERR_FORMAT, "damaged");
	free(g);
	for (size_t c = 0; c < nchunks; c++) {
		i = po + 16 + c * (CHUNK + TAG) + (len % CHUNK) / 2;
		g = with_byte(f, n, i, f[i] ^ 0x80);
		expect_err(g, n, PASS, SAFS_ERR_FORMAT, "damaged");
		free(g);
	}
	g = with_byte(f, n, n - 1, f[n - 1] ^ 0x01);
	expect_err(g, n, PASS, SAFS_ERR_FORMAT, NULL);
	free(g);

	/* Truncation: in the last chunk, at each chunk boundary (a chunk
	 * not marked last), right after the nonce, and in the header. */
	expect_err(f, n - 1, PASS, SAFS_ERR_FORMAT, NULL);
	expect_err(f, n - TAG, PASS, SAFS_ERR_FORMAT, NULL);
	for (size_t c = 1; c < nchunks; c++)
		expect_err(f, po + 16 + c * (CHUNK + TAG), PASS,
		    SAFS_ERR_FORMAT, NULL);
	expect_err(f, po + 16, PASS, SAFS_ERR_FORMAT, "truncated");
	expect_err(f, po + 10, PASS, SAFS_ERR_FORMAT, "truncated");
	expect_err(f, po, PASS, SAFS_ERR_FORMAT, NULL);
	expect_err(f, po - 10, PASS, SAFS_ERR_FORMAT, NULL);
	expect_err(f, 30, PASS, SAFS_ERR_FORMAT, NULL);
	expect_err(f, 0, PASS, SAFS_ERR_FORMAT, NULL);
	/* Appended bytes. */
	g = malloc(n + 1);
	ASSERT_PTR_NE(g, NULL);
	memcpy(g, f, n);
	g[n] = 0;
	expect_err(g, n + 1, PASS, SAFS_ERR_FORMAT, NULL);
	free(g);
	free(f);
	free(pt);
}

static void
test_damage_one_chunk(void)
{
	damage_suite(1000);
}

static void
test_damage_three_chunks(void)
{
	struct craft o = { .empty_last = 1 };
	unsigned char *pt = pattern(CHUNK), *f;
	size_t n;

	damage_suite(2 * CHUNK + 1000);
	/* A STREAM that ends in an empty chunk after a full one (the spec
	 * forbids it: a cut at a chunk boundary could otherwise pass). */
	f = craft_age(pt, CHUNK, PASS, &o, &n);
	expect_err(f, n, PASS, SAFS_ERR_FORMAT, NULL);
	free(f);
	free(pt);
}

static void
test_header_shapes(void)
{
	struct craft o = { 0 };
	unsigned char *pt = pattern(200), *f, *g;
	struct age_info info;
	struct errbuf e;
	size_t n;

	/* Work factor above age's own limit: refused before any scrypt. */
	o.fake_log_n = AGE_MAX_LOG_N + 1;
	f = craft_age(pt, 200, PASS, &o, &n);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), SAFS_ERR_UNSUPPORTED);
	expect_err(f, n, PASS, SAFS_ERR_UNSUPPORTED, NULL);
	free(f);
	/* At the limit: inspect reports it (and does not run scrypt). */
	o.fake_log_n = AGE_MAX_LOG_N;
	f = craft_age(pt, 200, PASS, &o, &n);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), 0);
	ASSERT_INT_EQ(info.log_n, AGE_MAX_LOG_N);
	free(f);
	o.fake_log_n = 0;

	/* scrypt must be the only stanza. */
	o.extra_stanza = 1;
	f = craft_age(pt, 200, PASS, &o, &n);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), SAFS_ERR_FORMAT);
	expect_err(f, n, PASS, SAFS_ERR_FORMAT, NULL);
	free(f);
	o.extra_stanza = 0;
	o.two_scrypt = 1;
	f = craft_age(pt, 200, PASS, &o, &n);
	expect_err(f, n, PASS, SAFS_ERR_FORMAT, NULL);
	free(f);
	o.two_scrypt = 0;

	/* Work factor spellings age rejects: "010", "0", letters. */
	f = craft_age(pt, 200, PASS, &o, &n);
	{
		char *w = strstr((char *)f, " 10\n");
		size_t at;

		ASSERT_PTR_NE(w, NULL);
		at = (size_t)((unsigned char *)w - f);
		g = with_byte(f, n, at + 1, '0');	/* " 00" */
		expect_err(g, n, PASS, SAFS_ERR_FORMAT, NULL);
		free(g);
		g = with_byte(f, n, at + 1, 'x');
		expect_err(g, n, PASS, SAFS_ERR_FORMAT, NULL);
		free(g);
		/* A shorter salt: the stanza line no longer parses. */
		g = with_byte(f, n, strlen("age-encryption.org/v1\n-> scrypt ")
		    + 21, ' ');
		expect_err(g, n, PASS, SAFS_ERR_FORMAT, NULL);
		free(g);
	}
	/* Not the v1 intro. */
	g = with_byte(f, n, 20, '2');
	ASSERT_INT_EQ(age_inspect(g, n, &info, &e), SAFS_ERR_FORMAT);
	free(g);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), 0);
	ASSERT_INT_EQ(info.log_n, LOW_N);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_SIZE_T_EQ(info.payload_len, n - payload_off(f, n));
	free(f);
	free(pt);
}

static void
test_through_envelope(void)
{
	struct craft o = { 0 };
	struct envelope_params p;
	struct envelope_info info;
	struct secbuf *out;
	struct errbuf e;
	unsigned char *pt = pattern(700), *f;
	size_t n;

	memset(&p, 0, sizeof(p));
	f = craft_age(pt, 700, PASS, &o, &n);
	ASSERT_INT_NE(envelope_needs_passphrase(f, n, &p), 0);
	ASSERT_INT_EQ(envelope_inspect(f, n, ENVELOPE_AUTO, &info, &e), 0);
	ASSERT_INT_EQ(info.format, ENVELOPE_AGE);
	ASSERT_INT_EQ(info.log_n, LOW_N);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_INT_EQ(envelope_open(f, n, &p, PASS, strlen(PASS), &out, &info,
	    &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(out), 700);
	ASSERT_MEM_EQ(secbuf_data(out), pt, 700);
	secbuf_free(out);
	ASSERT_INT_EQ(info.format, ENVELOPE_AGE);
	ASSERT_STR_EQ(info.cipher, "chacha20-poly1305");
	ASSERT_STR_EQ(info.md, "scrypt");
	ASSERT_INT_EQ(info.log_n, LOW_N);
	/* No passphrase, a wrong one. */
	ASSERT_INT_EQ(envelope_open(f, n, &p, NULL, 0, &out, &info, &e),
	    SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(out, NULL);
	ASSERT_INT_EQ(envelope_open(f, n, &p, WRONG, strlen(WRONG), &out,
	    &info, &e), SAFS_ERR_PASSPHRASE);
	ASSERT_STR_NOT_CONTAINS(e.msg, WRONG);
	/* openssl-only parameters do not get in the way. */
	p.format = ENVELOPE_AGE;
	p.cipher = "aes-128-cbc";
	p.md = "md5";
	ASSERT_INT_EQ(envelope_open(f, n, &p, PASS, strlen(PASS), &out, &info,
	    &e), 0);
	secbuf_free(out);
	free(f);
	/* Armoured, by magic. */
	o.armor = 1;
	memset(&p, 0, sizeof(p));
	f = craft_age(pt, 700, PASS, &o, &n);
	ASSERT_INT_EQ(envelope_inspect(f, n, ENVELOPE_AUTO, &info, &e), 0);
	ASSERT_INT_EQ(info.format, ENVELOPE_AGE);
	ASSERT_INT_EQ(info.armored, 1);
	ASSERT_INT_EQ(envelope_open(f, n, &p, PASS, strlen(PASS), &out, &info,
	    &e), 0);
	ASSERT_MEM_EQ(secbuf_data(out), pt, 700);
	secbuf_free(out);
	free(f);
	free(pt);
}

/* ---- the real age CLI, through a pty ---- */

/*
 * Run age with argv, answering each passphrase prompt (up to answers
 * of them) with pass. Returns its exit status.
 */
static int
run_age(char *const argv[], const char *pass, int answers)
{
	char slave[128], out[8192];
	size_t len = 0;
	int m, sent = 0, st;
	pid_t pid;

	m = test_pty_open(slave, sizeof(slave));
	if ((pid = fork()) == 0) {
		int fd;

		close(m);
		fd = test_pty_become_ctty(slave);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	ASSERT_INT_GT(pid, 0);
	for (;;) {
		struct pollfd pfd = { .fd = m, .events = POLLIN };
		int count = 0;
		ssize_t k;
		char *s;

		if (poll(&pfd, 1, 60000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		k = read(m, out + len, sizeof(out) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		out[len] = '\0';
		for (s = out; (s = strstr(s, "assphrase")) != NULL; s++)
			count++;
		while (count > sent && sent < answers) {
			ASSERT_INT_EQ(write(m, pass, strlen(pass)),
			    (ssize_t)strlen(pass));
			ASSERT_INT_EQ(write(m, "\n", 1), 1);
			sent++;
		}
		if (len + 1 >= sizeof(out))
			len = 0;
	}
	close(m);
	st = test_wait(pid);
	if (st != 0)
		fprintf(stderr, "# age said: %s\n", out);
	return st;
}

static void
test_real_age_files(void)
{
	char src[4096], bin[4096], arm[4096];
	unsigned char *pt = pattern(2345), *f;
	struct age_info info;
	struct errbuf e;
	size_t n;

	if (!have_age_cli) {
		printf("# the age CLI is not installed: interop skipped\n");
		return;
	}
	TEST_PATH(src, dir, "plain.txt");
	TEST_PATH(bin, dir, "cli.age");
	TEST_PATH(arm, dir, "cli-armor.age");
	test_write_file(src, pt, 2345, 0600);
	{
		char *a1[] = { (char *)"age", (char *)"-p", (char *)"-o", bin,
			src, NULL };
		char *a2[] = { (char *)"age", (char *)"-p", (char *)"-a",
			(char *)"-o", arm, src, NULL };

		ASSERT_INT_EQ(run_age(a1, PASS, 2), 0);
		ASSERT_INT_EQ(run_age(a2, PASS, 2), 0);
	}
	f = test_read_file(bin, &n);
	ASSERT_MEM_EQ(f, "age-encryption.org/v1\n-> scrypt ", 32);
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), 0);
	ASSERT_INT_EQ(info.armored, 0);
	ASSERT_INT_GE(info.log_n, 1);
	ASSERT_INT_LE(info.log_n, AGE_MAX_LOG_N);
	ASSERT_SIZE_T_EQ(info.payload_len, n - payload_off(f, n));
	expect_open(f, n, pt, 2345, &info);
	ASSERT_INT_EQ(info.armored, 0);
	free(f);
	f = test_read_file(arm, &n);
	ASSERT_MEM_EQ(f, "-----BEGIN AGE ENCRYPTED FILE-----", 34);
	expect_open(f, n, pt, 2345, &info);
	ASSERT_INT_EQ(info.armored, 1);
	free(f);
	free(pt);

	/* Two STREAM chunks, as the CLI writes them. */
	pt = pattern(CHUNK + 4464);
	test_write_file(src, pt, CHUNK + 4464, 0600);
	{
		char *a3[] = { (char *)"age", (char *)"-p", (char *)"-o", bin,
			src, NULL };

		ASSERT_INT_EQ(run_age(a3, PASS, 2), 0);
	}
	f = test_read_file(bin, &n);
	expect_open(f, n, pt, CHUNK + 4464, &info);
	free(f);
	free(pt);
}

static void
test_real_age_reads_built_file(void)
{
	char built[4096], back[4096];
	struct craft o = { 0 };
	unsigned char *pt = pattern(CHUNK + 77), *f, *g;
	size_t n;
	const size_t sz = CHUNK + 77;

	if (!have_age_cli) {
		printf("# the age CLI is not installed: interop skipped\n");
		return;
	}
	/* The builder above speaks real age: the CLI decrypts its output
	 * (two chunks, low work factor). */
	f = craft_age(pt, sz, PASS, &o, &n);
	TEST_PATH(built, dir, "built.age");
	TEST_PATH(back, dir, "built.out");
	test_write_file(built, f, n, 0600);
	{
		char *a[] = { (char *)"age", (char *)"-d", (char *)"-o", back,
			built, NULL };

		ASSERT_INT_EQ(run_age(a, PASS, 1), 0);
	}
	g = test_read_file(back, &n);
	ASSERT_SIZE_T_EQ(n, sz);
	ASSERT_MEM_EQ(g, pt, n);
	free(g);
	free(f);
	free(pt);
}

static void
test_recipient_file_unsupported(void)
{
	char key[4096], pubf[4096], src[4096], out[4096];
	unsigned char *f;
	char *pub;
	struct age_info info;
	struct errbuf e;
	size_t n;

	if (!have_age_cli) {
		printf("# the age CLI is not installed: interop skipped\n");
		return;
	}
	TEST_PATH(key, dir, "id.key");
	TEST_PATH(pubf, dir, "id.pub");
	TEST_PATH(src, dir, "r-plain.txt");
	TEST_PATH(out, dir, "r.age");
	test_write_str(src, "{\"a\":1}", 0600);
	TEST_RUN_OK(NULL, "age-keygen", "-o", key);
	TEST_RUN_OK(pubf, "age-keygen", "-y", key);
	pub = (char *)test_read_file(pubf, NULL);
	pub[strcspn(pub, "\n")] = '\0';
	TEST_RUN_OK(NULL, "age", "-r", pub, "-o", out, src);
	f = test_read_file(out, &n);
	/* A key file, not a passphrase file: a clear "unsupported". */
	ASSERT_INT_EQ(age_inspect(f, n, &info, &e), SAFS_ERR_UNSUPPORTED);
	ASSERT_STR_CONTAINS(e.msg, "passphrase");
	expect_err(f, n, PASS, SAFS_ERR_UNSUPPORTED, NULL);
	free(f);
	free(pub);
}

int
main(void)
{
	test_init();
	dir = test_tmpdir_new();
	have_age_cli = test_spawn("/dev/null", "/dev/null", "/dev/null", "age",
	    "--version", (char *)NULL) == 0;
	TEST(test_chunk_sizes);
	TEST(test_armored_built);
	TEST(test_wrong_passphrase);
	TEST(test_damage_one_chunk);
	TEST(test_damage_three_chunks);
	TEST(test_header_shapes);
	TEST(test_through_envelope);
	TEST(test_real_age_files);
	TEST(test_real_age_reads_built_file);
	TEST(test_recipient_file_unsupported);
	test_tmpdir_free(dir);
	return test_done();
}
