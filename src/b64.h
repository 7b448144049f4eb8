/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648): base64url without padding for JWTs, and a strict
 * standard-alphabet decoder for base64-armoured `openssl enc -a` files. */
#ifndef SAFS_B64_H
#define SAFS_B64_H

#include <stddef.h>

/* Length of the base64url encoding of n bytes, without padding. */
size_t b64url_len(size_t n);

/*
 * Encode n bytes of in as base64url without padding into out, which holds
 * at least b64url_len(n) + 1 bytes; NUL-terminates. Returns the length.
 */
size_t b64url_encode(const void *in, size_t n, char *out);

/*
 * Decode standard base64 (RFC 4648 section 4, '=' padding) from in,
 * skipping ASCII whitespace, into out (at least n / 4 * 3 + 3 bytes).
 * Returns the decoded length, or -1 on any other character, bad padding
 * or data after the padding.
 */
long b64_decode(const char *in, size_t n, unsigned char *out);

/*
 * Decode unpadded standard base64 (age's encoding) from exactly n bytes
 * of in: no whitespace, no '=', canonical (zero) trailing bits. Returns
 * the decoded length or -1.
 */
long b64_decode_raw(const char *in, size_t n, unsigned char *out);

#endif
