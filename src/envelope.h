/* SPDX-License-Identifier: MIT */
/*
 * The container around the service-account JSON: files written by the
 * `openssl enc` CLI ("Salted__" header, binary or base64 with -a), with
 * PBKDF2 or the legacy EVP_BytesToKey key derivation; age passphrase
 * files (age.h); plain JSON.
 */
#ifndef SAFS_ENVELOPE_H
#define SAFS_ENVELOPE_H

#include <stddef.h>

#include "err.h"
#include "secmem.h"

enum envelope_format {
	ENVELOPE_AUTO = 0,
	ENVELOPE_OPENSSL,
	ENVELOPE_AGE,
	ENVELOPE_PLAIN,
};

enum envelope_kdf {
	ENVELOPE_KDF_AUTO = 0,
	ENVELOPE_KDF_PBKDF2,
	ENVELOPE_KDF_EVP,	/* legacy EVP_BytesToKey, one round */
};

#define ENVELOPE_DEFAULT_CIPHER "aes-256-cbc"
#define ENVELOPE_DEFAULT_MD "sha256"
#define ENVELOPE_DEFAULT_ITER 10000	/* openssl enc -pbkdf2's default */

/* What the caller asks for; zero/NULL fields take the defaults above. */
struct envelope_params {
	int format;		/* enum envelope_format */
	const char *cipher;
	int kdf;		/* enum envelope_kdf */
	const char *md;		/* NULL: sha256 (and md5 for kdf=auto's EVP) */
	unsigned long iter;	/* 0: 10000 */
	int allow_plaintext;
};

/* What was found (and, after envelope_open(), what worked). No secrets. */
struct envelope_info {
	int format;		/* enum envelope_format */
	int armored;		/* base64 (openssl enc -a) */
	int salted;		/* had a Salted__ header */
	unsigned char salt[8];
	size_t data_len;	/* ciphertext bytes (after base64 decoding) */
	char cipher[64];
	int kdf;		/* enum envelope_kdf actually used */
	char md[32];
	unsigned long iter;	/* PBKDF2 iterations used */
	int log_n;		/* age: scrypt work factor */
};

/* The format named by s ("auto", "openssl", "age", "plain"), or -1. */
int envelope_format_parse(const char *s);
const char *envelope_format_name(int format);
/* The KDF named by s ("auto", "pbkdf2", "evp"), or -1. */
int envelope_kdf_parse(const char *s);
const char *envelope_kdf_name(int kdf);

/*
 * Recognise the container of in (n bytes) and fill info with what the file
 * itself records; needs no passphrase. Returns 0, or SAFS_ERR_FORMAT.
 */
int envelope_inspect(const unsigned char *in, size_t n, int format,
    struct envelope_info *info, struct errbuf *e);

/*
 * Decrypt in with pass (passlen bytes) into *plainp. Wrong passphrase is
 * SAFS_ERR_PASSPHRASE; a damaged file SAFS_ERR_FORMAT; a cipher or digest
 * OpenSSL does not offer SAFS_ERR_UNSUPPORTED; plain JSON without
 * allow_plaintext SAFS_ERR_PLAINTEXT. Derived keys are wiped before return.
 * pass may be NULL for a plain source.
 */
int envelope_open(const unsigned char *in, size_t n,
    const struct envelope_params *p, const char *pass, size_t passlen,
    struct secbuf **plainp, struct envelope_info *info, struct errbuf *e);

/* Whether the source needs a passphrase under params p. */
int envelope_needs_passphrase(const unsigned char *in, size_t n,
    const struct envelope_params *p);

#endif
