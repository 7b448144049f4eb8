/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util.h"

/* Claims safs sets itself; a profile's "claims" cannot replace them. */
static const char *const own_claims[] = { "iat", "exp", "nbf", "iss", "sub",
	"email", "aud", "project_id", "user_id", "resource_access",
	"display_name", NULL };

static const char *const profile_keys[] = { "audience", "token_ttl",
	"refresh", "user_id", "project_id", "display_name", "resource_access",
	"claims", NULL };

static void
profile_free(struct token_profile *p)
{
	free(p->name);
	free(p->audience);
	free(p->user_id);
	free(p->project_id);
	free(p->display_name);
	if (p->resource_access != NULL)
		for (char **s = p->resource_access; *s != NULL; s++)
			free(*s);
	free(p->resource_access);
	cJSON_Delete(p->claims);
	memset(p, 0, sizeof(*p));
}

void
config_free(struct token_config *c)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		profile_free(&c->profiles[i]);
	free(c->profiles);
	memset(c, 0, sizeof(*c));
}

const struct token_profile *
config_find(const struct token_config *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

static int
nomem(struct errbuf *e)
{
	return err_set(e, SAFS_ERR_NOMEM, "out of memory");
}

/* resource_access from a JSON array of strings. */
static int
set_ra_json(struct token_profile *p, const cJSON *arr, const char *where,
    struct errbuf *e)
{
	const cJSON *it;
	char **v;
	size_t n = 0;

	if (!cJSON_IsArray(arr))
		return err_set(e, SAFS_ERR_CONFIG, "config: %sresource_access "
		    "must be an array of strings", where);
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || *it->valuestring == '\0')
			return err_set(e, SAFS_ERR_CONFIG, "config: "
			    "%sresource_access must hold non-empty strings",
			    where);
		n++;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return nomem(e);
	n = 0;
	cJSON_ArrayForEach(it, arr) {
		if ((v[n++] = strdup(it->valuestring)) == NULL) {
			for (char **s = v; *s != NULL; s++)
				free(*s);
			free(v);
			return nomem(e);
		}
	}
	if (p->resource_access != NULL)
		for (char **s = p->resource_access; *s != NULL; s++)
			free(*s);
	free(p->resource_access);
	p->resource_access = v;
	return 0;
}

/* resource_access= from a mount option: ':'-separated. */
static int
set_ra_list(struct token_profile *p, const char *list, struct errbuf *e)
{
	cJSON *arr = cJSON_CreateArray(), *s;
	const char *q = list, *end;
	char *item;
	int r;

	if (arr == NULL)
		return nomem(e);
	while (*q != '\0') {
		end = strchr(q, ':');
		if (end == NULL)
			end = q + strlen(q);
		if ((item = strndup(q, (size_t)(end - q))) == NULL ||
		    (s = cJSON_CreateString(item)) == NULL) {
			free(item);
			cJSON_Delete(arr);
			return nomem(e);
		}
		free(item);
		cJSON_AddItemToArray(arr, s);
		q = *end == ':' ? end + 1 : end;
	}
	r = set_ra_json(p, arr, "", e);
	cJSON_Delete(arr);
	return r;
}

static int
string_member(const cJSON *m, const char *where, char **dst, struct errbuf *e)
{
	if (!cJSON_IsString(m))
		return err_set(e, SAFS_ERR_CONFIG, "config: %s%s must be a "
		    "string", where, m->string);
	if (*m->valuestring == '\0')
		return err_set(e, SAFS_ERR_CONFIG, "config: %s%s is empty",
		    where, m->string);
	return util_set_str(dst, m->valuestring, e);
}

static int
integer_member(const cJSON *m, const char *where, long min, long max,
    long *dst, struct errbuf *e)
{
	if (!cJSON_IsNumber(m))
		return err_set(e, SAFS_ERR_CONFIG, "config: %s%s must be an "
		    "integer", where, m->string);
	/* Range first: converting 1e300 to long would be undefined. */
	if (!(m->valuedouble >= (double)min && m->valuedouble <= (double)max))
		return err_set(e, SAFS_ERR_CONFIG, "config: %s%s must be "
		    "from %ld to %ld", where, m->string, min, max);
	if (m->valuedouble != (double)(long)m->valuedouble)
		return err_set(e, SAFS_ERR_CONFIG, "config: %s%s must be an "
		    "integer", where, m->string);
	*dst = (long)m->valuedouble;
	return 0;
}

/* Merge the extra claims object m into p->claims (m's keys win). */
static int
merge_claims(struct token_profile *p, const cJSON *m, const char *where,
    struct errbuf *e)
{
	const cJSON *it;
	cJSON *copy;

	if (!cJSON_IsObject(m))
		return err_set(e, SAFS_ERR_CONFIG, "config: %sclaims must be "
		    "an object", where);
	if (p->claims == NULL && (p->claims = cJSON_CreateObject()) == NULL)
		return nomem(e);
	cJSON_ArrayForEach(it, m) {
		if (util_json_twin(m, it))
			return err_set(e, SAFS_ERR_CONFIG, "config: "
			    "%sclaims: '%.64s' appears twice", where,
			    it->string);
		if (util_in_list(own_claims, it->string))
			return err_set(e, SAFS_ERR_CONFIG, "config: %sclaims: "
			    "'%s' is set by safs itself", where, it->string);
		if ((copy = cJSON_Duplicate(it, 1)) == NULL)
			return nomem(e);
		cJSON_DeleteItemFromObjectCaseSensitive(p->claims, it->string);
		cJSON_AddItemToObject(p->claims, it->string, copy);
	}
	return 0;
}

/* Apply the keys of JSON object obj (top level or a profile) to p. */
static int
apply_object(struct token_profile *p, const cJSON *obj, const char *where,
    int top, struct errbuf *e)
{
	const cJSON *m;
	long n;
	int r;

	for (m = obj->child; m != NULL; m = m->next) {
		if (util_json_twin(obj, m))
			return err_set(e, SAFS_ERR_CONFIG, "config: "
			    "%s%s appears twice", where, m->string);
		if (top && strcmp(m->string, "profiles") == 0)
			continue;
		if (!util_in_list(profile_keys, m->string))
			return err_set(e, SAFS_ERR_CONFIG, "config: unknown "
			    "key %s'%.64s'", where, m->string);
		if (strcmp(m->string, "audience") == 0)
			r = string_member(m, where, &p->audience, e);
		else if (strcmp(m->string, "user_id") == 0)
			r = string_member(m, where, &p->user_id, e);
		else if (strcmp(m->string, "project_id") == 0)
			r = string_member(m, where, &p->project_id, e);
		else if (strcmp(m->string, "display_name") == 0)
			r = string_member(m, where, &p->display_name, e);
		else if (strcmp(m->string, "resource_access") == 0)
			r = set_ra_json(p, m, where, e);
		else if (strcmp(m->string, "claims") == 0)
			r = merge_claims(p, m, where, e);
		else if (strcmp(m->string, "token_ttl") == 0) {
			if ((r = integer_member(m, where, 1, CONFIG_MAX_TTL,
			    &n, e)) == 0)
				p->ttl = n;
		} else {
			if ((r = integer_member(m, where, 1, 99, &n, e)) == 0)
				p->refresh = (int)n;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int
copy_profile(struct token_profile *dst, const struct token_profile *src,
    const char *name, struct errbuf *e)
{
	memset(dst, 0, sizeof(*dst));
	dst->ttl = src->ttl;
	dst->refresh = src->refresh;
	if ((dst->name = strdup(name)) == NULL ||
	    (src->audience && !(dst->audience = strdup(src->audience))) ||
	    (src->user_id && !(dst->user_id = strdup(src->user_id))) ||
	    (src->project_id && !(dst->project_id = strdup(src->project_id))) ||
	    (src->display_name &&
	    !(dst->display_name = strdup(src->display_name))) ||
	    (src->claims && !(dst->claims = cJSON_Duplicate(src->claims, 1))))
		return nomem(e);
	if (src->resource_access != NULL) {
		size_t n = 0;

		while (src->resource_access[n] != NULL)
			n++;
		if ((dst->resource_access = calloc(n + 1, sizeof(char *))) ==
		    NULL)
			return nomem(e);
		for (size_t i = 0; i < n; i++)
			if ((dst->resource_access[i] =
			    strdup(src->resource_access[i])) == NULL)
				return nomem(e);
	}
	return 0;
}

/* Mount options override the default profile. */
static int
apply_options(struct token_profile *p, const struct safs_opts *o,
    struct errbuf *e)
{
	int r = 0;

	if (o->audience && (r = util_set_str(&p->audience, o->audience, e)) != 0)
		return r;
	if (o->user_id && (r = util_set_str(&p->user_id, o->user_id, e)) != 0)
		return r;
	if (o->project_id &&
	    (r = util_set_str(&p->project_id, o->project_id, e)) != 0)
		return r;
	if (o->display_name &&
	    (r = util_set_str(&p->display_name, o->display_name, e)) != 0)
		return r;
	if (o->resource_access &&
	    (r = set_ra_list(p, o->resource_access, e)) != 0)
		return r;
	if (o->token_ttl > 0)
		p->ttl = o->token_ttl;
	if (o->refresh > 0)
		p->refresh = o->refresh;
	return 0;
}

static int
opts_set_claims(const struct safs_opts *o)
{
	return o->user_id || o->project_id || o->display_name ||
	    o->resource_access || o->token_ttl > 0 || o->refresh > 0;
}

static int
finish_profile(const struct token_profile *p, struct errbuf *e)
{
	if (p->audience == NULL || *p->audience == '\0')
		return err_set(e, SAFS_ERR_CONFIG, "config: profile '%s' has "
		    "no audience", p->name);
	if (!options_safe_name(p->name))
		return err_set(e, SAFS_ERR_CONFIG, "config: profile name "
		    "'%.64s' is not a safe file name", p->name);
	return 0;
}

int
config_parse(const char *json, size_t len, const struct safs_opts *o,
    struct token_config *out, struct errbuf *e)
{
	struct token_profile base = { 0 }, *v = NULL;
	const cJSON *profiles = NULL, *m, *def = NULL;
	cJSON *root = NULL;
	char where[300];
	size_t n = 0, cap, pos;
	int r = SAFS_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	base.ttl = CONFIG_DEFAULT_TTL;
	base.refresh = CONFIG_DEFAULT_REFRESH;
	if (json != NULL) {
		if ((r = util_json_parse(json, len, &root, &pos)) != 0) {
			r = r == UTIL_JSON_SYNTAX ?
			    err_set(e, SAFS_ERR_CONFIG, "config: not valid "
			    "JSON (near byte %zu)", pos) :
			    err_set(e, SAFS_ERR_CONFIG, "config: data after "
			    "the JSON object");
			goto out;
		}
		if (!cJSON_IsObject(root)) {
			r = err_set(e, SAFS_ERR_CONFIG, "config: not a JSON "
			    "object");
			goto out;
		}
		if ((r = apply_object(&base, root, "", 1, e)) != 0)
			goto out;
		profiles = cJSON_GetObjectItemCaseSensitive(root, "profiles");
		if (profiles != NULL && !cJSON_IsObject(profiles)) {
			r = err_set(e, SAFS_ERR_CONFIG, "config: profiles must "
			    "be an object");
			goto out;
		}
		def = profiles ? cJSON_GetObjectItemCaseSensitive(profiles,
		    CONFIG_DEFAULT_PROFILE) : NULL;
	}
	cap = 1;
	if (profiles != NULL)
		for (m = profiles->child; m != NULL; m = m->next)
			cap++;
	if ((v = calloc(cap, sizeof(*v))) == NULL) {
		r = nomem(e);
		goto out;
	}
	/*
	 * The default profile (the token entry): profiles.default, else the
	 * top level alone, and either way the mount options on top. It
	 * exists once an audience is known.
	 */
	if ((r = copy_profile(&v[0], &base, CONFIG_DEFAULT_PROFILE, e)) != 0)
		goto out;
	n = 1;
	if (def != NULL && !cJSON_IsObject(def)) {
		r = err_set(e, SAFS_ERR_CONFIG, "config: profiles.default "
		    "must be an object");
		goto out;
	}
	if (def != NULL && (r = apply_object(&v[0], def,
	    "profiles.default.", 0, e)) != 0)
		goto out;
	if ((r = apply_options(&v[0], o, e)) != 0)
		goto out;
	if (v[0].audience == NULL) {
		if (def != NULL || opts_set_claims(o)) {
			r = err_set(e, def != NULL ? SAFS_ERR_CONFIG :
			    SAFS_ERR_USAGE, "%s: the default token needs an "
			    "audience (audience=)", def != NULL ?
			    "config: profiles.default" : "options");
			goto out;
		}
		profile_free(&v[0]);
		n = 0;
	} else if ((r = finish_profile(&v[0], e)) != 0) {
		goto out;
	}
	out->has_default = n == 1;
	if (profiles != NULL) {
		for (m = profiles->child; m != NULL; m = m->next) {
			if (util_json_twin(profiles, m)) {
				r = err_set(e, SAFS_ERR_CONFIG, "config: "
				    "profile '%.64s' appears twice",
				    m->string);
				goto out;
			}
			if (strcmp(m->string, CONFIG_DEFAULT_PROFILE) == 0)
				continue;
			snprintf(where, sizeof(where), "profiles.%.64s.",
			    m->string);
			if (!cJSON_IsObject(m)) {
				r = err_set(e, SAFS_ERR_CONFIG, "config: "
				    "profiles.%.64s must be an object",
				    m->string);
				goto out;
			}
			if ((r = copy_profile(&v[n], &base, m->string, e)) !=
			    0) {
				n++;
				goto out;
			}
			n++;
			if ((r = apply_object(&v[n - 1], m, where, 0, e)) !=
			    0 || (r = finish_profile(&v[n - 1], e)) != 0)
				goto out;
		}
	}
	/* success */
	out->profiles = v;
	out->nprofiles = n;
	v = NULL;
	n = 0;
	r = 0;
 out:
	if (v != NULL) {
		for (size_t i = 0; i < n; i++)
			profile_free(&v[i]);
		free(v);
	}
	if (r != 0)
		out->has_default = 0;
	profile_free(&base);
	cJSON_Delete(root);
	return r;
}

int
config_load(const struct safs_opts *o, struct token_config *out,
    struct errbuf *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t k;
	int fd = -1, r;

	if (o->config == NULL)
		return config_parse(NULL, 0, o, out, e);
	memset(out, 0, sizeof(*out));
	/* O_NONBLOCK: a FIFO must not hang us; fstat() refuses it. */
	if ((fd = open(o->config, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return err_set(e, SAFS_ERR_CONFIG, "cannot open config %s: %s",
		    o->config, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, SAFS_ERR_CONFIG, "config %s is not a "
		    "regular file", o->config);
	}
	if (st.st_size > CONFIG_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return err_set(e, SAFS_ERR_CONFIG, "config %s is too large",
		    o->config);
	}
	while (len < (size_t)st.st_size) {
		k = read(fd, buf + len, (size_t)st.st_size - len);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	r = config_parse(buf, len, o, out, e);
	free(buf);
	return r;
}
