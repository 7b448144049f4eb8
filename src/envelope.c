/* SPDX-License-Identifier: MIT */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "age.h"
#include "b64.h"

#define SALTED_MAGIC "Salted__"
#define SALTED_B64 "U2FsdGVkX1"	/* base64 of "Salted__" */
#define AGE_MAGIC "age-encryption.org/v1\n"
#define AGE_ARMOR "-----BEGIN AGE ENCRYPTED FILE-----"

static const char *const format_names[] = { "auto", "openssl", "age",
	"plain" };
static const char *const kdf_names[] = { "auto", "pbkdf2", "evp" };

int
envelope_format_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names);
	     i++)
		if (strcmp(s, format_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
envelope_format_name(int format)
{
	if (format < 0 || format > ENVELOPE_PLAIN)
		return "unknown";
	return format_names[format];
}

int
envelope_kdf_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(kdf_names) / sizeof(*kdf_names); i++)
		if (strcmp(s, kdf_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
envelope_kdf_name(int kdf)
{
	if (kdf < 0 || kdf > ENVELOPE_KDF_EVP)
		return "unknown";
	return kdf_names[kdf];
}

static int
has_prefix(const unsigned char *in, size_t n, const char *magic)
{
	size_t m = strlen(magic);

	return n >= m && memcmp(in, magic, m) == 0;
}

static int
looks_like_json(const unsigned char *in, size_t n)
{
	size_t i = 0;

	if (has_prefix(in, n, "\xef\xbb\xbf"))	/* UTF-8 BOM */
		i = 3;
	for (; i < n; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' ||
		    in[i] == '\r')
			continue;
		return in[i] == '{' || in[i] == '[';
	}
	return 0;
}

static int
detect(const unsigned char *in, size_t n)
{
	if (has_prefix(in, n, SALTED_MAGIC) || has_prefix(in, n, SALTED_B64))
		return ENVELOPE_OPENSSL;
	if (has_prefix(in, n, AGE_MAGIC) || has_prefix(in, n, AGE_ARMOR))
		return ENVELOPE_AGE;
	if (looks_like_json(in, n))
		return ENVELOPE_PLAIN;
	return -1;
}

/*
 * Split an openssl enc file into salt and ciphertext. Base64 armour is
 * decoded into *decodedp, which the caller frees.
 */
static int
parse_openssl(const unsigned char *in, size_t n, struct envelope_info *info,
    unsigned char **datap, struct secbuf **decodedp, struct errbuf *e)
{
	struct secbuf *dec = NULL;
	const unsigned char *p = in;
	long len;

	*decodedp = NULL;
	if (has_prefix(in, n, SALTED_B64)) {
		if ((dec = secbuf_new(n / 4 * 3 + 3)) == NULL)
			return err_set(e, SAFS_ERR_NOMEM, "out of memory");
		len = b64_decode((const char *)in, n, secbuf_data(dec));
		if (len < 0) {
			secbuf_free(dec);
			return err_set(e, SAFS_ERR_FORMAT,
			    "source looks base64-encoded (openssl enc -a) "
			    "but is not valid base64: corrupt or truncated");
		}
		info->armored = 1;
		p = secbuf_data(dec);
		n = (size_t)len;
	}
	if (has_prefix(p, n, SALTED_MAGIC)) {
		info->salted = 1;
		if (n < 16) {
			secbuf_free(dec);
			return err_set(e, SAFS_ERR_FORMAT,
			    "source is truncated: its Salted__ header has "
			    "no complete salt");
		}
		memcpy(info->salt, p + 8, 8);
		p += 16;
		n -= 16;
	}
	info->data_len = n;
	*datap = (unsigned char *)p;
	*decodedp = dec;
	return 0;
}

int
envelope_inspect(const unsigned char *in, size_t n, int format,
    struct envelope_info *info, struct errbuf *e)
{
	struct secbuf *dec = NULL;
	unsigned char *data;
	int r, found;

	memset(info, 0, sizeof(*info));
	if (n == 0)
		return err_set(e, SAFS_ERR_FORMAT, "source is empty");
	found = detect(in, n);
	if (format == ENVELOPE_AUTO) {
		if (found < 0)
			return err_set(e, SAFS_ERR_FORMAT,
			    "source format not recognised: neither an "
			    "openssl enc file (Salted__ header) nor JSON "
			    "(for an openssl enc -nosalt file, set "
			    "format=openssl)");
		format = found;
	}
	info->format = format;
	if (format == ENVELOPE_OPENSSL) {
		if ((r = parse_openssl(in, n, info, &data, &dec, e)) != 0)
			return r;
		secbuf_free(dec);
	} else if (format == ENVELOPE_AGE) {
		struct age_info ai;

		if ((r = age_inspect(in, n, &ai, e)) != 0)
			return r;
		info->armored = ai.armored;
		info->log_n = ai.log_n;
		info->data_len = ai.payload_len;
	} else {
		info->data_len = n;
	}
	return 0;
}

int
envelope_needs_passphrase(const unsigned char *in, size_t n,
    const struct envelope_params *p)
{
	int format = p->format;

	if (format == ENVELOPE_AUTO)
		format = detect(in, n);
	return format != ENVELOPE_PLAIN;
}

/*
 * A right key gives back the JSON text; a wrong one gives noise that, for
 * padded modes, passes the padding check one time in 256. Telling "wrong
 * passphrase" from "right passphrase, content not JSON" by whether the
 * result is text (UTF-8, no control bytes but whitespace) makes the noise
 * case vanishingly rare while still reporting a real non-JSON plaintext
 * for what it is.
 */
static int
is_text(const unsigned char *p, size_t n)
{
	size_t i = 0, k, more;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' &&
			    c != '\r') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else
			return 0;
		if (n - i <= more)
			return 0;
		for (k = 1; k <= more; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += more + 1;
	}
	return 1;
}

struct attempt {
	int kdf;
	const char *md;
};

/* One decryption attempt. Returns 0, SAFS_ERR_PASSPHRASE on a key that
 * does not fit, or another error. */
static int
try_decrypt(const EVP_CIPHER *cipher, const struct attempt *a,
    unsigned long iter, const struct envelope_info *info,
    const unsigned char *data, const char *pass, size_t passlen,
    struct secbuf **outp, struct errbuf *e)
{
	unsigned char kiv[EVP_MAX_KEY_LENGTH + EVP_MAX_IV_LENGTH];
	struct secbuf *out = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	int klen, ivlen, n1 = 0, n2 = 0, r = SAFS_ERR_INTERNAL;
	const unsigned char *salt = info->salted ? info->salt : NULL;

	*outp = NULL;
	klen = EVP_CIPHER_get_key_length(cipher);
	ivlen = EVP_CIPHER_get_iv_length(cipher);
	if (klen <= 0 || klen > EVP_MAX_KEY_LENGTH || ivlen < 0 ||
	    ivlen > EVP_MAX_IV_LENGTH) {
		r = err_set(e, SAFS_ERR_UNSUPPORTED,
		    "cipher %s has an unusable key or IV length",
		    EVP_CIPHER_get0_name(cipher));
		goto out;
	}
	if ((md = EVP_MD_fetch(NULL, a->md, NULL)) == NULL) {
		r = err_set(e, SAFS_ERR_UNSUPPORTED,
		    "unknown digest md=%s", a->md);
		goto out;
	}
	if (a->kdf == ENVELOPE_KDF_PBKDF2) {
		if (PKCS5_PBKDF2_HMAC(pass, (int)passlen, salt,
		    salt != NULL ? 8 : 0, (int)iter, md, klen + ivlen,
		    kiv) != 1) {
			r = err_set(e, SAFS_ERR_UNSUPPORTED,
			    "PBKDF2 with md=%s failed", a->md);
			goto out;
		}
	} else if (EVP_BytesToKey(cipher, md, salt,
	    (const unsigned char *)pass, (int)passlen, 1, kiv,
	    kiv + klen) <= 0) {
		r = err_set(e, SAFS_ERR_UNSUPPORTED,
		    "EVP_BytesToKey with md=%s failed", a->md);
		goto out;
	}
	if ((out = secbuf_new(info->data_len + EVP_MAX_BLOCK_LENGTH)) ==
	    NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DecryptInit_ex2(ctx, cipher, kiv, ivlen > 0 ? kiv + klen :
	    NULL, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, secbuf_data(out), &n1, data,
	    (int)info->data_len) != 1 ||
	    EVP_DecryptFinal_ex(ctx, secbuf_data(out) + n1, &n2) != 1 ||
	    !is_text(secbuf_data(out), (size_t)n1 + (size_t)n2)) {
		r = SAFS_ERR_PASSPHRASE;
		goto out;
	}
	secbuf_truncate(out, (size_t)n1 + (size_t)n2);
	secbuf_data(out)[secbuf_len(out)] = '\0';
	/* success */
	*outp = out;
	out = NULL;
	r = 0;
 out:
	OPENSSL_cleanse(kiv, sizeof(kiv));
	EVP_CIPHER_CTX_free(ctx);	/* cleanses its key schedule */
	EVP_MD_free(md);
	secbuf_free(out);
	return r;
}

static int
open_openssl(const unsigned char *in, size_t n,
    const struct envelope_params *p, const char *pass, size_t passlen,
    struct secbuf **plainp, struct envelope_info *info, struct errbuf *e)
{
	struct attempt tries[3];
	struct secbuf *dec = NULL;
	EVP_CIPHER *cipher = NULL;
	unsigned char *data;
	const char *cname = p->cipher ? p->cipher : ENVELOPE_DEFAULT_CIPHER;
	const char *md = p->md ? p->md : ENVELOPE_DEFAULT_MD;
	unsigned long iter = p->iter ? p->iter : ENVELOPE_DEFAULT_ITER;
	size_t ntries = 0, i;
	int r, mode, bs;

	if ((r = parse_openssl(in, n, info, &data, &dec, e)) != 0)
		goto out;
	if ((cipher = EVP_CIPHER_fetch(NULL, cname, NULL)) == NULL) {
		r = err_set(e, SAFS_ERR_UNSUPPORTED,
		    "unknown cipher cipher=%s", cname);
		goto out;
	}
	mode = EVP_CIPHER_get_mode(cipher);
	if ((EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) ||
	    mode == EVP_CIPH_XTS_MODE || mode == EVP_CIPH_WRAP_MODE ||
	    mode == EVP_CIPH_SIV_MODE) {
		r = err_set(e, SAFS_ERR_UNSUPPORTED,
		    "cipher=%s: openssl enc cannot write files with this "
		    "cipher", cname);
		goto out;
	}
	if (iter > 0x7fffffffUL) {
		r = err_set(e, SAFS_ERR_USAGE, "iter=%lu is too large", iter);
		goto out;
	}
	bs = EVP_CIPHER_get_block_size(cipher);
	if (info->data_len == 0) {
		r = err_set(e, SAFS_ERR_FORMAT,
		    "source is truncated: it holds an openssl enc header "
		    "but no encrypted data");
		goto out;
	}
	if (bs > 1 && info->data_len % (size_t)bs != 0) {
		r = err_set(e, SAFS_ERR_FORMAT,
		    "source is truncated or corrupt: %zu bytes of %s "
		    "ciphertext is not a whole number of %d-byte blocks",
		    info->data_len, cname, bs);
		goto out;
	}
	if (p->kdf == ENVELOPE_KDF_AUTO || p->kdf == ENVELOPE_KDF_PBKDF2)
		tries[ntries++] = (struct attempt){ ENVELOPE_KDF_PBKDF2, md };
	if (p->kdf == ENVELOPE_KDF_AUTO || p->kdf == ENVELOPE_KDF_EVP)
		tries[ntries++] = (struct attempt){ ENVELOPE_KDF_EVP, md };
	/* Files from OpenSSL before 1.1 used md5 for EVP_BytesToKey. */
	if (p->kdf == ENVELOPE_KDF_AUTO && p->md == NULL)
		tries[ntries++] = (struct attempt){ ENVELOPE_KDF_EVP, "md5" };
	r = SAFS_ERR_PASSPHRASE;
	for (i = 0; i < ntries && r == SAFS_ERR_PASSPHRASE; i++)
		r = try_decrypt(cipher, &tries[i], iter, info, data, pass,
		    passlen, plainp, e);
	if (r == SAFS_ERR_PASSPHRASE) {
		err_set(e, r, "wrong passphrase, or the file is corrupt or "
		    "was not made with cipher=%s and kdf=%s%s%s", cname,
		    envelope_kdf_name(p->kdf), p->md ? " md=" : "",
		    p->md ? p->md : "");
		goto out;
	}
	if (r == 0) {
		i--;
		snprintf(info->cipher, sizeof(info->cipher), "%s", cname);
		snprintf(info->md, sizeof(info->md), "%s", tries[i].md);
		info->kdf = tries[i].kdf;
		info->iter = tries[i].kdf == ENVELOPE_KDF_PBKDF2 ? iter : 1;
	}
 out:
	EVP_CIPHER_free(cipher);
	secbuf_free(dec);
	return r;
}

int
envelope_open(const unsigned char *in, size_t n,
    const struct envelope_params *p, const char *pass, size_t passlen,
    struct secbuf **plainp, struct envelope_info *info, struct errbuf *e)
{
	int r;

	*plainp = NULL;
	if ((r = envelope_inspect(in, n, p->format, info, e)) != 0)
		return r;
	switch (info->format) {
	case ENVELOPE_OPENSSL:
		if (pass == NULL)
			return err_set(e, SAFS_ERR_NOPASS,
			    "no passphrase given");
		return open_openssl(in, n, p, pass, passlen, plainp, info, e);
	case ENVELOPE_PLAIN:
		if (!p->allow_plaintext)
			return err_set(e, SAFS_ERR_PLAINTEXT,
			    "source is unencrypted JSON; mount it only "
			    "with -o allow_plaintext");
		if ((*plainp = secbuf_dup(in, n)) == NULL)
			return err_set(e, SAFS_ERR_NOMEM, "out of memory");
		return 0;
	case ENVELOPE_AGE: {
		struct age_info ai;
		int r2;

		if (pass == NULL)
			return err_set(e, SAFS_ERR_NOPASS,
			    "no passphrase given");
		r2 = age_open(in, n, pass, passlen, plainp, &ai, e);
		if (r2 == 0) {
			snprintf(info->cipher, sizeof(info->cipher),
			    "chacha20-poly1305");
			snprintf(info->md, sizeof(info->md), "scrypt");
			info->log_n = ai.log_n;
		}
		return r2;
	}
	default:
		return err_set(e, SAFS_ERR_FORMAT, "unknown format");
	}
}
