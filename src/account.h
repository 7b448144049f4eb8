/* SPDX-License-Identifier: MIT */
/*
 * The service account: the decrypted JSON, parsed strictly, its string
 * members as entries, its RSA private key parsed once, and the public
 * material derived from it (public_key.pem, jwks.json).
 */
#ifndef SAFS_ACCOUNT_H
#define SAFS_ACCOUNT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"
#include "secmem.h"

#define ACCOUNT_KEY_MIN_BITS 2048
#define ACCOUNT_KEY_MAX_BITS 4096
#define ACCOUNT_SIG_MAX (ACCOUNT_KEY_MAX_BITS / 8)

struct account;

struct account_entry {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/*
 * Parse len bytes of JSON (the decrypted file; copied, the caller keeps
 * and wipes its own). The JSON must be one object, nothing after it but
 * whitespace, with string members client_email (non-empty) and
 * private_key (a PEM RSA key of 2048-4096 bits). Returns 0,
 * SAFS_ERR_JSON, SAFS_ERR_ACCOUNT, SAFS_ERR_KEY or SAFS_ERR_NOMEM.
 */
int account_load(const unsigned char *json, size_t len,
    struct account **outp, struct errbuf *e);

/* Wipes everything; NULL is a no-op. */
void account_free(struct account *a);

/* The decrypted JSON, byte for byte (credentials.json). */
const unsigned char *account_json(const struct account *a, size_t *lenp);

/* Top-level string members with safe names, in file order, except names
 * safs itself serves (credentials.json, token, ...). */
size_t account_nentries(const struct account *a);
const struct account_entry *account_entry(const struct account *a,
    size_t i);

/* The value of string member name, or NULL. */
const char *account_get(const struct account *a, const char *name);

/* The parsed key: owned by a, valid until account_free(). */
EVP_PKEY *account_pkey(const struct account *a);
int account_key_bits(const struct account *a);

/* SubjectPublicKeyInfo PEM and an RFC 7517 key set of the public key. */
const char *account_public_pem(const struct account *a);
const char *account_jwks(const struct account *a);

/* Whether name is one safs generates (and a JSON member cannot take). */
int account_reserved_name(const char *name);

#endif
