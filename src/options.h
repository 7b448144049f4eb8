/* SPDX-License-Identifier: MIT */
/*
 * The mount-option model: "-o a,b=c" strings as given on the command
 * line, by mount.fuse3 and by fstab, parsed into struct safs_opts. FUSE's
 * own options are collected for pass-through; mount(8) noise is dropped;
 * secrets in options are refused.
 */
#ifndef SAFS_OPTIONS_H
#define SAFS_OPTIONS_H

#include <sys/types.h>

#include "err.h"

struct safs_opts {
	/* passphrase */
	char *passfile;
	int passfd;		/* -1: unset */
	char *extpass;
	/* envelope */
	int format;		/* enum envelope_format */
	char *cipher;
	int kdf;		/* enum envelope_kdf */
	char *md;
	unsigned long iter;	/* 0: default */
	int allow_plaintext;
	/* claims of the default token; NULL/0: unset */
	char *audience;
	char *user_id;
	char *project_id;
	char *display_name;
	char *resource_access;	/* ':'-separated */
	long token_ttl;		/* 0: unset */
	int refresh;		/* 0: unset */
	char *config;
	/* entries */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int have_uid, have_gid, have_mode;
	char *hide;		/* ':'-separated */
	/* behaviour */
	int audit;
	int nocache;
	int watch;
	int require_mlock;
	int debug;
	int allow_other;
	/* FUSE mount options passed through, comma-joined, escaped */
	char *fuse;
};

void options_init(struct safs_opts *o);
void options_free(struct safs_opts *o);

/*
 * Parse one comma-separated option string (backslash escapes a comma) into
 * o; may be called once per -o. Returns 0, or SAFS_ERR_USAGE with the
 * offending option named in e.
 */
int options_parse(struct safs_opts *o, const char *s, struct errbuf *e);

/* Checks across options (one passphrase source, ...). 0 or SAFS_ERR_USAGE. */
int options_validate(const struct safs_opts *o, struct errbuf *e);

/* Whether name is listed in the ':'-separated list (NULL: empty). */
int options_list_has(const char *list, const char *name);

/* Whether name is a safe entry name: [A-Za-z0-9_.-]+, not "." or "..". */
int options_safe_name(const char *name);

/* Strict decimal parse of all of s into [min, max]: 0, or -1. */
int options_parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

#endif
