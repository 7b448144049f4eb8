/* SPDX-License-Identifier: MIT */
/* Error codes of the safs core. Every core function returns 0 or one of
 * these (negative); the FUSE layer and main() map them exactly once. */
#ifndef SAFS_ERR_H
#define SAFS_ERR_H

enum {
	SAFS_OK = 0,
	SAFS_ERR_INTERNAL = -1,
	SAFS_ERR_NOMEM = -2,
	SAFS_ERR_USAGE = -3,		/* bad option or argument */
	SAFS_ERR_CONFIG = -4,		/* invalid config file */
	SAFS_ERR_SOURCE = -5,		/* source unreadable: missing, dir, ... */
	SAFS_ERR_TOO_LARGE = -6,	/* input over its size cap */
	SAFS_ERR_FORMAT = -7,		/* unrecognised or corrupt container */
	SAFS_ERR_UNSUPPORTED = -8,	/* valid but unsupported (cipher, ...) */
	SAFS_ERR_PASSPHRASE = -9,	/* wrong passphrase (or corrupt file) */
	SAFS_ERR_NOPASS = -10,		/* no passphrase could be obtained */
	SAFS_ERR_JSON = -11,		/* decrypted content is not valid JSON */
	SAFS_ERR_ACCOUNT = -12,		/* JSON is not a usable service account */
	SAFS_ERR_KEY = -13,		/* private_key does not parse / unusable */
	SAFS_ERR_SIGN = -14,		/* signing failed */
	SAFS_ERR_PLAINTEXT = -15,	/* plain JSON without allow_plaintext */
	SAFS_ERR_SYSTEM = -16,		/* a system call failed (see errno) */
};

/* A human-readable description of a SAFS_ERR_* code; never NULL. */
const char *safs_strerror(int r);

/*
 * The detail of a failure, for the one line main() prints. It names files,
 * options and JSON members, never a secret byte. Functions that take a
 * struct errbuf * accept NULL.
 */
struct errbuf {
	char msg[256];
};

/* Format the detail into e (when not NULL) and return code. */
int err_set(struct errbuf *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The detail in e, or safs_strerror(code) when none was set. */
const char *err_msg(const struct errbuf *e, int code);

#endif
