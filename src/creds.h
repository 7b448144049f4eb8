/* SPDX-License-Identifier: MIT */
/*
 * One loaded generation of credentials: the pipeline source -> passphrase
 * -> envelope -> account -> token minters, run at mount, by --check and
 * --token, and again on every reload.
 */
#ifndef SAFS_CREDS_H
#define SAFS_CREDS_H

#include <time.h>

#include "account.h"
#include "config.h"
#include "envelope.h"
#include "err.h"
#include "jwt.h"
#include "options.h"

struct creds {
	struct account *account;
	struct token_config config;
	struct minter **minters;	/* one per config.profiles[i] */
	struct envelope_info info;
	struct timespec mtime;		/* of the source file */
	int pass_from;			/* enum passphrase_from */
	int pass_warn;			/* PASSPHRASE_WARN_* */
};

/*
 * Run the whole pipeline for source under o. The config is read first, so
 * its errors come before any passphrase prompt; the passphrase and the
 * decrypted bytes are wiped before this returns. Returns 0 or the first
 * SAFS_ERR_* met, detailed in e.
 */
int creds_load(const struct safs_opts *o, const char *source,
    struct creds **outp, struct errbuf *e);

void creds_free(struct creds *c);

#endif
