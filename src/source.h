/* SPDX-License-Identifier: MIT */
/* Reading the source file (encrypted, or plain JSON, so always into
 * secure memory) with a size cap. */
#ifndef SAFS_SOURCE_H
#define SAFS_SOURCE_H

#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "secmem.h"

/* A service-account JSON is 2-4 KiB; anything past this is not one. */
#define SOURCE_MAX (64 * 1024)

/*
 * Read the regular file at path (at most max bytes) into *outp and its
 * mtime into *mtimep (may be NULL). Returns 0, SAFS_ERR_SOURCE (missing,
 * not a regular file, unreadable), SAFS_ERR_TOO_LARGE or SAFS_ERR_NOMEM.
 */
int source_read(const char *path, size_t max, struct secbuf **outp,
    struct timespec *mtimep, struct errbuf *e);

#endif
