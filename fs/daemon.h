/* SPDX-License-Identifier: MIT */
/*
 * The daemon's background work, off the FUSE request path: re-minting
 * tokens ahead of expiry (a CLOCK_REALTIME timer that also wakes when the
 * wall clock is set), and reloads on SIGHUP or, with watch, when the
 * source changes. A reload runs in its own thread, so a slow passphrase
 * program never delays a token.
 */
#ifndef SAFS_DAEMON_H
#define SAFS_DAEMON_H

#include "fs.h"

struct daemon;

/*
 * Start the threads for the fs mounted by se; call from the thread that
 * will run fuse_session_loop(), with SIGHUP, SIGINT and SIGTERM blocked.
 * SIGINT/SIGTERM end the loop; SIGHUP reloads. Takes ownership of c; iats
 * are the issue times of the tokens already published. Returns 0 or
 * SAFS_ERR_SYSTEM.
 */
int daemon_start(struct daemon **dp, struct fs *fs, struct fuse_session *se,
    struct creds *c, const time_t *iats, const struct safs_opts *o,
    const char *source);

/*
 * After fuse_session_loop() returned: stop and join the threads; wipes and
 * frees the credentials. Returns 0, or -1 when a reload could not be
 * stopped in time: it still reads the options, so the caller must exit
 * (_exit) without freeing them. NULL is a no-op.
 */
int daemon_stop(struct daemon *d);

/* Mint one token per profile of c, now: tokens[], iats[], refresh_ms[]
 * (each c->config.nprofiles long). 0 or SAFS_ERR_*. */
int daemon_mint_all(const struct creds *c, struct secbuf **tokens,
    time_t *iats, int64_t *refresh_ms);

/* Log once if the kernel says the clock is not synchronised. */
void daemon_check_clock(void);

#endif
