/* SPDX-License-Identifier: MIT */
#include "age.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "b64.h"

#define AGE_INTRO "age-encryption.org/v1\n"
#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define CHUNK 65536
#define TAG 16
#define LINE_MAX_B64 64	/* stanza bodies wrap at 64 columns */

struct header {
	unsigned char salt[16];
	int log_n;
	unsigned char body[32];	/* the wrapped 16-byte file key + tag */
	size_t mac_off;		/* the header up to and including "---" */
	unsigned char mac[32];
	size_t payload_off;
};

/* The line starting at *pos (without its '\n'); advances past it. */
static int
next_line(const unsigned char *p, size_t n, size_t *pos, const char **line,
    size_t *len)
{
	const unsigned char *nl;

	if (*pos >= n || (nl = memchr(p + *pos, '\n', n - *pos)) == NULL)
		return -1;
	*line = (const char *)p + *pos;
	*len = (size_t)(nl - (p + *pos));
	*pos += *len + 1;
	return 0;
}

static int
truncated(struct errbuf *e)
{
	return err_set(e, SAFS_ERR_FORMAT, "age file is truncated or "
	    "malformed (header)");
}

static int
parse_scrypt(struct header *h, const char *args, size_t len,
    struct errbuf *e)
{
	const char *sp = memchr(args, ' ', len);
	size_t slen, i;
	int v = 0;

	if (sp == NULL)
		return truncated(e);
	slen = (size_t)(sp - args);
	if (slen != 22 || b64_decode_raw(args, slen, h->salt) != 16)
		return err_set(e, SAFS_ERR_FORMAT, "age scrypt stanza: bad "
		    "salt");
	args = sp + 1;
	len -= slen + 1;
	if (len == 0 || len > 2 || (args[0] == '0'))
		return err_set(e, SAFS_ERR_FORMAT, "age scrypt stanza: bad "
		    "work factor");
	for (i = 0; i < len; i++) {
		if (args[i] < '0' || args[i] > '9')
			return err_set(e, SAFS_ERR_FORMAT, "age scrypt "
			    "stanza: bad work factor");
		v = v * 10 + (args[i] - '0');
	}
	if (v > AGE_MAX_LOG_N)
		return err_set(e, SAFS_ERR_UNSUPPORTED, "age scrypt work "
		    "factor %d is over the limit of %d", v, AGE_MAX_LOG_N);
	h->log_n = v;
	return 0;
}

static int
parse_header(const unsigned char *p, size_t n, struct header *h,
    struct errbuf *e)
{
	size_t pos = strlen(AGE_INTRO), len, body_len;
	unsigned char body[64];
	const char *line;
	int stanzas = 0, scrypt = 0, r;
	long k;

	memset(h, 0, sizeof(*h));
	if (n < pos || memcmp(p, AGE_INTRO, pos) != 0)
		return err_set(e, SAFS_ERR_FORMAT, "not an age v1 file");
	for (;;) {
		size_t start = pos;

		if (next_line(p, n, &pos, &line, &len) != 0)
			return truncated(e);
		if (len >= 4 && memcmp(line, "--- ", 4) == 0) {
			if (len != 4 + 43 ||
			    b64_decode_raw(line + 4, 43, h->mac) != 32)
				return err_set(e, SAFS_ERR_FORMAT, "age "
				    "header MAC is malformed");
			h->mac_off = start + 3;
			h->payload_off = pos;
			break;
		}
		if (len < 4 || memcmp(line, "-> ", 3) != 0 || line[3] == ' ')
			return truncated(e);
		stanzas++;
		if (len > 10 && memcmp(line + 3, "scrypt ", 7) == 0) {
			scrypt = 1;
			if ((r = parse_scrypt(h, line + 10, len - 10, e)) != 0)
				return r;
		}
		/* The body: base64 lines of 64, ended by a shorter one. */
		body_len = 0;
		do {
			if (next_line(p, n, &pos, &line, &len) != 0 ||
			    len > LINE_MAX_B64)
				return truncated(e);
			if (scrypt && stanzas == 1) {
				if (body_len + len > 44 ||
				    (k = b64_decode_raw(line, len, body +
				    body_len / 4 * 3)) < 0)
					return err_set(e, SAFS_ERR_FORMAT,
					    "age scrypt stanza: bad body");
				body_len += len;
			}
		} while (len == LINE_MAX_B64);
		if (scrypt && stanzas == 1) {
			if (body_len != 43)
				return err_set(e, SAFS_ERR_FORMAT, "age "
				    "scrypt stanza: bad body");
			memcpy(h->body, body, 32);
		}
	}
	if (!scrypt)
		return err_set(e, SAFS_ERR_UNSUPPORTED, "the age file is "
		    "encrypted to a recipient key, not a passphrase (age "
		    "-p); safs takes passphrase files only");
	if (stanzas != 1)
		return err_set(e, SAFS_ERR_FORMAT, "age file mixes a scrypt "
		    "stanza with others, which age forbids");
	return 0;
}

/* ASCII armour to binary, into *outp. */
static int
dearmor(const unsigned char *in, size_t n, struct secbuf **outp,
    struct errbuf *e)
{
	size_t b = strlen(ARMOR_BEGIN), i, end_at = 0;
	struct secbuf *out;
	long len;

	*outp = NULL;
	if (n < b + 1 || memcmp(in, ARMOR_BEGIN, b) != 0 ||
	    (in[b] != '\n' && in[b] != '\r'))
		return err_set(e, SAFS_ERR_FORMAT, "bad age armour");
	for (i = b; i + strlen(ARMOR_END) <= n; i++)
		if (in[i] == '-' && memcmp(in + i, ARMOR_END,
		    strlen(ARMOR_END)) == 0) {
			end_at = i;
			break;
		}
	if (end_at == 0)
		return err_set(e, SAFS_ERR_FORMAT, "age armour has no end "
		    "line: truncated");
	for (i = end_at + strlen(ARMOR_END); i < n; i++)
		if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' &&
		    in[i] != '\t')
			return err_set(e, SAFS_ERR_FORMAT, "data after the "
			    "age armour");
	if ((out = secbuf_new(n / 4 * 3 + 3)) == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	if ((len = b64_decode((const char *)in + b, end_at - b,
	    secbuf_data(out))) < 0) {
		secbuf_free(out);
		return err_set(e, SAFS_ERR_FORMAT, "age armour is not valid "
		    "base64");
	}
	secbuf_truncate(out, (size_t)len);
	*outp = out;
	return 0;
}

/* Run the EVP_KDF called name with params into out. 0 or -1. */
static int
kdf(const char *name, const OSSL_PARAM *params, unsigned char *out,
    size_t len)
{
	EVP_KDF *k;
	EVP_KDF_CTX *ctx = NULL;
	int ok = 0;

	if ((k = EVP_KDF_fetch(NULL, name, NULL)) != NULL &&
	    (ctx = EVP_KDF_CTX_new(k)) != NULL &&
	    EVP_KDF_derive(ctx, out, len, params) == 1)
		ok = 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(k);
	return ok ? 0 : -1;
}

static int
scrypt_key(const char *pass, size_t passlen, const struct header *h,
    unsigned char out[32])
{
	unsigned char salt[sizeof(SCRYPT_LABEL) - 1 + 16];
	uint64_t nn = (uint64_t)1 << h->log_n;
	/* scrypt needs 128 * r * (N + p + 2) bytes: room for that. */
	uint64_t maxmem = 128 * 8 * (nn + 3) + (1 << 20);
	uint32_t rr = 8, pp = 1;
	OSSL_PARAM params[7], *q = params;

	memcpy(salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
	memcpy(salt + sizeof(SCRYPT_LABEL) - 1, h->salt, 16);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)pass, passlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
	    sizeof(salt));
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &nn);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	*q = OSSL_PARAM_construct_end();
	return kdf("SCRYPT", params, out, 32);
}

static int
hkdf(const unsigned char *ikm, size_t ikmlen, const unsigned char *salt,
    size_t saltlen, const char *info, unsigned char out[32])
{
	OSSL_PARAM params[5], *q = params;

	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	/* No salt is HKDF's all-zero salt, which is what age's empty
	 * salt means. */
	if (saltlen > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	*q = OSSL_PARAM_construct_end();
	return kdf("HKDF", params, out, 32);
}

/* ChaCha20-Poly1305 open of n bytes (tag last). 0, or -1 on a bad tag. */
static int
aead_open(const unsigned char key[32], const unsigned char nonce[12],
    const unsigned char *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	int l1 = 0, l2 = 0, ok = 0;

	if (n < TAG || n - TAG > (size_t)INT32_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex2(ctx, EVP_chacha20_poly1305(), key, nonce,
	    NULL) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &l1, in, (int)(n - TAG)) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG,
	    (void *)(in + n - TAG)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + l1, &l2) == 1 &&
	    (size_t)l1 + (size_t)l2 == n - TAG)
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
split(const unsigned char *in, size_t n, struct secbuf **decp,
    const unsigned char **pp, size_t *np, int *armored, struct errbuf *e)
{
	int r;

	*decp = NULL;
	*pp = in;
	*np = n;
	*armored = 0;
	if (n >= strlen(ARMOR_BEGIN) && memcmp(in, ARMOR_BEGIN,
	    strlen(ARMOR_BEGIN)) == 0) {
		if ((r = dearmor(in, n, decp, e)) != 0)
			return r;
		*pp = secbuf_data(*decp);
		*np = secbuf_len(*decp);
		*armored = 1;
	}
	return 0;
}

int
age_inspect(const unsigned char *in, size_t n, struct age_info *info,
    struct errbuf *e)
{
	struct secbuf *dec = NULL;
	const unsigned char *p;
	struct header h;
	size_t len;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = split(in, n, &dec, &p, &len, &info->armored, e)) == 0 &&
	    (r = parse_header(p, len, &h, e)) == 0) {
		info->log_n = h.log_n;
		info->payload_len = len - h.payload_off;
	}
	secbuf_free(dec);
	return r;
}

int
age_open(const unsigned char *in, size_t n, const char *pass,
    size_t passlen, struct secbuf **outp, struct age_info *info,
    struct errbuf *e)
{
	unsigned char wrap[32], filekey[16], mackey[32], mac[32], pkey[32];
	unsigned char nonce[12];
	struct secbuf *dec = NULL, *out = NULL;
	const unsigned char *p, *c;
	struct header h;
	size_t len, left, olen = 0, clen;
	uint64_t counter = 0;
	int r = SAFS_ERR_INTERNAL;

	*outp = NULL;
	memset(info, 0, sizeof(*info));
	if ((r = split(in, n, &dec, &p, &len, &info->armored, e)) != 0 ||
	    (r = parse_header(p, len, &h, e)) != 0)
		goto out;
	info->log_n = h.log_n;
	if (scrypt_key(pass, passlen, &h, wrap) != 0) {
		r = err_set(e, SAFS_ERR_NOMEM, "scrypt (work factor %d) "
		    "failed: out of memory?", h.log_n);
		goto out;
	}
	memset(nonce, 0, sizeof(nonce));
	if (aead_open(wrap, nonce, h.body, sizeof(h.body), filekey) != 0) {
		r = err_set(e, SAFS_ERR_PASSPHRASE, "wrong passphrase (the "
		    "age scrypt stanza does not open with it)");
		goto out;
	}
	if (hkdf(filekey, 16, NULL, 0, "header", mackey) != 0 ||
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mackey, 32, p,
	    h.mac_off, mac, sizeof(mac), NULL) == NULL) {
		r = err_set(e, SAFS_ERR_INTERNAL, "age: HKDF/HMAC failed");
		goto out;
	}
	if (CRYPTO_memcmp(mac, h.mac, 32) != 0) {
		r = err_set(e, SAFS_ERR_FORMAT, "age header fails "
		    "authentication: the file is damaged");
		goto out;
	}
	left = len - h.payload_off;
	if (left < 16 + TAG) {
		r = err_set(e, SAFS_ERR_FORMAT, "age payload is truncated");
		goto out;
	}
	c = p + h.payload_off;
	if (hkdf(filekey, 16, c, 16, "payload", pkey) != 0) {
		r = err_set(e, SAFS_ERR_INTERNAL, "age: HKDF failed");
		goto out;
	}
	c += 16;
	left -= 16;
	if ((out = secbuf_new(left)) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* STREAM: 64 KiB chunks, nonce = 11-byte counter || last flag. */
	while (left > 0) {
		int last = left <= CHUNK + TAG;

		clen = last ? left : CHUNK + TAG;
		/* An 11-byte big-endian counter: the top three bytes of a
		 * 64-bit count are always zero. */
		memset(nonce, 0, 3);
		for (int i = 3; i < 11; i++)
			nonce[i] = (unsigned char)(counter >> (8 * (10 - i)));
		nonce[11] = (unsigned char)last;
		if (clen < TAG || (last && clen == TAG && counter > 0) ||
		    aead_open(pkey, nonce, c, clen, secbuf_data(out) + olen)
		    != 0) {
			r = err_set(e, SAFS_ERR_FORMAT, "age payload fails "
			    "authentication: the file is damaged or "
			    "truncated");
			goto out;
		}
		olen += clen - TAG;
		c += clen;
		left -= clen;
		counter++;
	}
	secbuf_truncate(out, olen);
	secbuf_data(out)[olen] = '\0';
	info->payload_len = len - h.payload_off;
	/* success */
	*outp = out;
	out = NULL;
	r = 0;
 out:
	ERR_clear_error();
	OPENSSL_cleanse(wrap, sizeof(wrap));
	OPENSSL_cleanse(filekey, sizeof(filekey));
	OPENSSL_cleanse(mackey, sizeof(mackey));
	OPENSSL_cleanse(pkey, sizeof(pkey));
	secbuf_free(out);
	secbuf_free(dec);
	return r;
}
