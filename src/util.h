/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the core's modules and the FUSE layer. */
#ifndef SAFS_UTIL_H
#define SAFS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct cJSON;

/* Whether s is one of the NULL-terminated list. */
int util_in_list(const char *const *list, const char *s);

/* Replace *dst by a copy of v. 0, or SAFS_ERR_NOMEM (detailed in e). */
int util_set_str(char **dst, const char *v, struct errbuf *e);

/* s with FUSE's option separators (',' and '\') backslash-escaped, in
 * malloc'ed memory; NULL when out of memory. */
char *util_escape_opt(const char *s);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t util_now_ms(void);

enum {
	UTIL_JSON_SYNTAX = -1,	/* not JSON; *errposp says where */
	UTIL_JSON_TRAILING = -2,	/* a value, then more than whitespace */
};

/*
 * Parse len bytes of text as exactly one JSON value (whitespace may
 * follow, nothing else) into *rootp. Returns 0 or UTIL_JSON_*.
 */
int util_json_parse(const char *text, size_t len, struct cJSON **rootp,
    size_t *errposp);

/* Whether a member of obj before m has m's name (a duplicate key). */
int util_json_twin(const struct cJSON *obj, const struct cJSON *m);

#endif
