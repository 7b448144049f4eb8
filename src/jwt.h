/* SPDX-License-Identifier: MIT */
/*
 * RS256 JWTs for the AutoQL API. A minter is built once per profile: the
 * header, the constant claims and a signing context are prepared then, so
 * a mint is one RSA signature plus a little base64.
 */
#ifndef SAFS_JWT_H
#define SAFS_JWT_H

#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "account.h"
#include "config.h"
#include "err.h"
#include "secmem.h"

struct minter;

/*
 * Prepare profile p for the key pkey (referenced, not copied: it must
 * outlive the minter), kid (private_key_id, may be NULL), client_email and
 * the account's project_id (used when p has none; may be NULL). Returns 0,
 * SAFS_ERR_NOMEM or SAFS_ERR_SIGN.
 */
int minter_new(EVP_PKEY *pkey, const char *kid, const char *client_email,
    const char *sa_project_id, const struct token_profile *p,
    struct minter **outp, struct errbuf *e);
void minter_free(struct minter *m);

/* A token with iat = iat and exp = iat + ttl, NUL-terminated, in secure
 * memory. Returns 0, SAFS_ERR_SIGN or SAFS_ERR_NOMEM. */
int minter_mint(struct minter *m, time_t iat, struct secbuf **outp);

const char *minter_name(const struct minter *m);
long minter_ttl(const struct minter *m);

/*
 * Wall-clock time (ms since the epoch) at which the token issued at iat
 * should be replaced: iat + ttl * refresh / 100, and no sooner than the
 * next whole second.
 */
int64_t minter_refresh_at(const struct minter *m, time_t iat);

/*
 * Whether the token issued at iat must be replaced at now_ms: its refresh
 * point has passed, or the clock went back before its iat (a verifier
 * would call it not yet valid).
 */
int minter_due(const struct minter *m, time_t iat, int64_t now_ms);

#endif
