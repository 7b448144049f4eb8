/* SPDX-License-Identifier: MIT */
/*
 * Token profiles: the config= JSON file (defaults and named profiles) and
 * the mount options that override its default profile.
 */
#ifndef SAFS_CONFIG_H
#define SAFS_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "options.h"

#define CONFIG_MAX (256 * 1024)
#define CONFIG_DEFAULT_TTL 3600
#define CONFIG_DEFAULT_REFRESH 80
#define CONFIG_MAX_TTL (31L * 86400)
#define CONFIG_DEFAULT_PROFILE "default"

struct cJSON;

struct token_profile {
	char *name;
	char *audience;
	char *user_id;		/* NULL: claim left out */
	char *project_id;	/* NULL: the service account's */
	char *display_name;	/* NULL: claim left out */
	char **resource_access;	/* NULL-terminated */
	struct cJSON *claims;	/* extra claims: an object, or NULL */
	long ttl;
	int refresh;		/* percent of ttl after which to re-mint */
};

struct token_config {
	struct token_profile *profiles;
	size_t nprofiles;
	int has_default;	/* profiles[0] is "default" (the token entry) */
};

/*
 * Build the profiles from o: o->config's file when set, with o's claim
 * options overriding the default profile. No audience anywhere: no
 * profiles. Returns 0, SAFS_ERR_CONFIG (the message names the key) or
 * SAFS_ERR_USAGE.
 */
int config_load(const struct safs_opts *o, struct token_config *out,
    struct errbuf *e);

/* The same from JSON text (len bytes) instead of o->config's file. */
int config_parse(const char *json, size_t len, const struct safs_opts *o,
    struct token_config *out, struct errbuf *e);

void config_free(struct token_config *c);

/* The profile called name, or NULL. */
const struct token_profile *config_find(const struct token_config *c,
    const char *name);

#endif
