/* SPDX-License-Identifier: MIT */
/*
 * Passphrase sources, never argv or the environment: a file, an inherited
 * file descriptor, the first line of a program's output, systemd's
 * credentials directory, or a no-echo prompt on the controlling terminal.
 */
#ifndef SAFS_PASSPHRASE_H
#define SAFS_PASSPHRASE_H

#include "err.h"
#include "secmem.h"

/* gocryptfs's cap; a longer "passphrase" is a mistake, not a secret. */
#define PASSPHRASE_MAX 2048
#define PASSPHRASE_CRED_NAME "safs.passphrase"

enum passphrase_from {
	PASSPHRASE_FROM_NONE = 0,
	PASSPHRASE_FROM_FILE,
	PASSPHRASE_FROM_FD,
	PASSPHRASE_FROM_EXTPASS,
	PASSPHRASE_FROM_CREDENTIALS,
	PASSPHRASE_FROM_TTY,
};

/* Set in *warnp by passphrase_get(). */
#define PASSPHRASE_WARN_PERMS 0x1	/* passfile readable by group/other */

struct passphrase_src {
	const char *file;	/* passfile= or NULL */
	int fd;			/* passfd=, or -1 */
	const char *extpass;	/* extpass= or NULL */
	const char *what;	/* names the source in the tty prompt */
};

/*
 * Obtain the passphrase: the first line (without "\n" or "\r\n") of the
 * configured source, else $CREDENTIALS_DIRECTORY/safs.passphrase, else
 * /dev/tty. passfd is closed once read. *fromp (may be NULL) tells which
 * source answered. Returns 0, SAFS_ERR_NOPASS (none available, empty,
 * too long, program failed) or SAFS_ERR_NOMEM.
 */
int passphrase_get(const struct passphrase_src *src, struct secbuf **outp,
    int *fromp, int *warnp, struct errbuf *e);

/* Kill (SIGKILL) the extpass program passphrase_get() waits on, if any:
 * for shutting down while a reload waits. Safe from any thread. */
void passphrase_cancel(void);

/* The first line of the n bytes at buf: its length, or -1 when longer
 * than max. Exposed for the unit tests and the fuzzer. */
long passphrase_first_line(const unsigned char *buf, size_t n, size_t max);

#endif
