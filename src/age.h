/* SPDX-License-Identifier: MIT */
/*
 * age v1 files encrypted to a passphrase (`age -p`): one scrypt stanza,
 * HMAC-SHA-256 header MAC, ChaCha20-Poly1305 STREAM payload; binary or
 * ASCII-armoured. Unlike openssl enc's CBC, every byte is authenticated:
 * a wrong passphrase and a damaged file are told apart for certain.
 */
#ifndef SAFS_AGE_H
#define SAFS_AGE_H

#include <stddef.h>

#include "err.h"
#include "secmem.h"

/* 1 GiB of scrypt, reached before any MAC can be checked: age -p writes
 * 18; a file asking for more is refused rather than obeyed. */
#define AGE_MAX_LOG_N 20

struct age_info {
	int armored;
	int log_n;		/* scrypt work factor, 0 if not a passphrase file */
	size_t payload_len;
};

/* Parse the header of in; no passphrase. 0, SAFS_ERR_FORMAT or
 * SAFS_ERR_UNSUPPORTED (not a passphrase file). */
int age_inspect(const unsigned char *in, size_t n, struct age_info *info,
    struct errbuf *e);

/*
 * Decrypt in with pass. Returns 0, SAFS_ERR_PASSPHRASE (the stanza does not
 * open: wrong passphrase), SAFS_ERR_FORMAT (malformed, or the header MAC or
 * a payload chunk fails authentication: damaged), SAFS_ERR_UNSUPPORTED or
 * SAFS_ERR_NOMEM. Keys are wiped before return.
 */
int age_open(const unsigned char *in, size_t n, const char *pass,
    size_t passlen, struct secbuf **outp, struct age_info *info,
    struct errbuf *e);

#endif
