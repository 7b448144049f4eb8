/* SPDX-License-Identifier: MIT */
/*
 * The FUSE side: an inode table whose files are immutable. A changed
 * entry (a new token, a reloaded source) is a new node under the same
 * name; the kernel is told to drop the name, so the next open resolves to
 * the new node while descriptors already open keep reading the old one,
 * which is freed once the kernel forgets it.
 */
#ifndef SAFS_FS_H
#define SAFS_FS_H

#define FUSE_USE_VERSION 35

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "creds.h"
#include "secmem.h"

struct fs_settings {
	uid_t uid;
	gid_t gid;
	mode_t mode;		/* of files; directories add x where r */
	const char *hide;	/* ':'-separated names left out */
	int audit;		/* every open reaches us and is logged */
	int nocache;		/* direct I/O: no page-cache copy */
};

struct fs;

struct fs *fs_new(const struct fs_settings *s);

/* Free every node, wiping contents. After the session is gone. */
void fs_free(struct fs *fs);

/* The session to send invalidations to (NULL until mounted). */
void fs_set_session(struct fs *fs, struct fuse_session *se);

const struct fuse_lowlevel_ops *fs_ops(void);

/*
 * Replace every entry with those of c: its string members,
 * credentials.json, public_key.pem, jwks.json and, with tokens[i] (minted
 * at iats[i]) for c->config.profiles[i], token and tokens/NAME. Takes
 * ownership of tokens[] (set to NULL). Names that changed are invalidated
 * in the kernel. Returns 0 or SAFS_ERR_NOMEM (nothing changed then).
 */
int fs_populate(struct fs *fs, const struct creds *c, struct secbuf **tokens,
    const time_t *iats, const int64_t *refresh_ms);

/* Publish tok (minted at iat) as profile i's token; takes ownership. */
int fs_publish_token(struct fs *fs, size_t i, struct secbuf *tok, time_t iat,
    int64_t refresh_ms);

/* Names in hide that match no entry (for one warning), ':'-separated into
 * buf; empty when all matched. */
void fs_unmatched_hides(struct fs *fs, char *buf, size_t len);

#endif
