/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "util.h"

/* Options that would carry a secret on the command line. */
static const char *const secret_opts[] = { "password", "pass", "passwd",
	"passphrase", "pw", "key", "secret", NULL };

/* FUSE mount options handed to libfuse as they are. */
static const char *const fuse_flags[] = { "allow_other", "allow_root",
	"auto_unmount", "async", "sync", "dirsync", "atime", "noatime",
	"diratime", "nodiratime", "relatime", "norelatime", "strictatime",
	"nostrictatime", "lazytime", "nolazytime", NULL };
static const char *const fuse_values[] = { "fsname", "subtype",
	"max_read", NULL };

/*
 * Accepted and ignored: mount(8) and fstab vocabulary that mount.fuse3 and
 * mount.safs pass along, and flags safs overrides (the mount is always
 * ro,nosuid,nodev,noexec with default_permissions).
 */
static const char *const ignored[] = { "rw", "ro", "dev", "nodev", "suid",
	"nosuid", "exec", "noexec", "defaults", "auto", "noauto", "nofail",
	"_netdev", "user", "users", "nouser", "owner", "group",
	"default_permissions", NULL };

void
options_init(struct safs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->passfd = -1;
	o->format = ENVELOPE_AUTO;
	o->kdf = ENVELOPE_KDF_AUTO;
	o->mode = 0400;
}

void
options_free(struct safs_opts *o)
{
	char **strs[] = { &o->passfile, &o->extpass, &o->cipher, &o->md,
		&o->audience, &o->user_id, &o->project_id, &o->display_name,
		&o->resource_access, &o->config, &o->hide, &o->fuse };

	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

int
options_parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
options_safe_name(const char *name)
{
	const char *p;

	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-'))
			return 0;
	return p - name <= 255;
}

int
options_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list, *end;

	if (list == NULL)
		return 0;
	while (*p != '\0') {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == n && strncmp(p, name, n) == 0)
			return 1;
		p = *end == ':' ? end + 1 : end;
	}
	return 0;
}

/* Append "name[=value]" to the pass-through list, re-escaping commas. */
static int
add_fuse(struct safs_opts *o, const char *item, struct errbuf *e)
{
	size_t old = o->fuse ? strlen(o->fuse) : 0;
	char *esc, *p;

	if ((esc = util_escape_opt(item)) == NULL ||
	    (p = realloc(o->fuse, old + strlen(esc) + 2)) == NULL) {
		free(esc);
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	}
	o->fuse = p;
	if (old > 0)
		p[old++] = ',';
	strcpy(p + old, esc);
	free(esc);
	return 0;
}

static int
parse_id(const char *v, int is_uid, unsigned long *out)
{
	struct passwd *pw;
	struct group *gr;

	if (options_parse_ulong(v, 0, 0xfffffffeUL, out) == 0)
		return 0;
	if (is_uid && (pw = getpwnam(v)) != NULL) {
		*out = pw->pw_uid;
		return 0;
	}
	if (!is_uid && (gr = getgrnam(v)) != NULL) {
		*out = gr->gr_gid;
		return 0;
	}
	return -1;
}

static int
check_list(const char *key, const char *v, int names, struct errbuf *e)
{
	char item[256];
	const char *p = v, *end;
	size_t n;

	if (*v == '\0')
		return err_set(e, SAFS_ERR_USAGE, "%s= needs a value", key);
	while (1) {
		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || n >= sizeof(item))
			return err_set(e, SAFS_ERR_USAGE,
			    "%s=: empty or overlong item", key);
		memcpy(item, p, n);
		item[n] = '\0';
		if (names && !options_safe_name(item))
			return err_set(e, SAFS_ERR_USAGE,
			    "%s=: '%s' is not an entry name", key, item);
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

static int
parse_one(struct safs_opts *o, char *item, struct errbuf *e)
{
	char *v = strchr(item, '=');
	const char *k = item;
	unsigned long n;

	if (v != NULL)
		*v++ = '\0';
	if (*k == '\0')
		return 0;	/* "a,,b" */
	if (util_in_list(secret_opts, k))
		return err_set(e, SAFS_ERR_USAGE, "option '%s=' would put the "
		    "passphrase in the process list; use passfile=PATH (or "
		    "passfd=N, extpass=PROGRAM)", k);
#define NEED_VALUE()							\
	do {								\
		if (v == NULL || *v == '\0')				\
			return err_set(e, SAFS_ERR_USAGE,		\
			    "option '%s' needs a value (%s=...)", k, k);	\
	} while (0)
#define NO_VALUE()							\
	do {								\
		if (v != NULL)						\
			return err_set(e, SAFS_ERR_USAGE,		\
			    "option '%s' takes no value", k);		\
	} while (0)
#define STR(name, field)						\
	if (strcmp(k, name) == 0) {					\
		NEED_VALUE();						\
		return util_set_str(&o->field, v, e);			\
	}
#define FLAG(name, field)						\
	if (strcmp(k, name) == 0) {					\
		NO_VALUE();						\
		o->field = 1;						\
		return 0;						\
	}
	STR("passfile", passfile)
	STR("extpass", extpass)
	STR("cipher", cipher)
	STR("md", md)
	STR("audience", audience)
	STR("user_id", user_id)
	STR("project_id", project_id)
	STR("display_name", display_name)
	STR("config", config)
	FLAG("allow_plaintext", allow_plaintext)
	FLAG("audit", audit)
	FLAG("nocache", nocache)
	FLAG("watch", watch)
	FLAG("require_mlock", require_mlock)
	FLAG("debug", debug)
	if (strcmp(k, "resource_access") == 0) {
		/* An empty list is a valid claim: resource_access= */
		if (v == NULL)
			NEED_VALUE();
		if (*v != '\0' && check_list(k, v, 0, e) != 0)
			return SAFS_ERR_USAGE;
		return util_set_str(&o->resource_access, v, e);
	}
	if (strcmp(k, "hide") == 0) {
		NEED_VALUE();
		if (check_list(k, v, 1, e) != 0)
			return SAFS_ERR_USAGE;
		return util_set_str(&o->hide, v, e);
	}
	if (strcmp(k, "passfd") == 0) {
		NEED_VALUE();
		if (options_parse_ulong(v, 0, 0x7fffffff, &n) != 0)
			return err_set(e, SAFS_ERR_USAGE,
			    "passfd=%s is not a file descriptor number", v);
		o->passfd = (int)n;
		return 0;
	}
	if (strcmp(k, "format") == 0) {
		NEED_VALUE();
		if ((o->format = envelope_format_parse(v)) < 0)
			return err_set(e, SAFS_ERR_USAGE, "format=%s: expected "
			    "auto, openssl, age or plain", v);
		return 0;
	}
	if (strcmp(k, "kdf") == 0) {
		NEED_VALUE();
		if ((o->kdf = envelope_kdf_parse(v)) < 0)
			return err_set(e, SAFS_ERR_USAGE,
			    "kdf=%s: expected auto, pbkdf2 or evp", v);
		return 0;
	}
	if (strcmp(k, "iter") == 0) {
		NEED_VALUE();
		if (options_parse_ulong(v, 1, 0x7fffffff, &o->iter) != 0)
			return err_set(e, SAFS_ERR_USAGE,
			    "iter=%s: expected a count from 1", v);
		return 0;
	}
	if (strcmp(k, "token_ttl") == 0) {
		NEED_VALUE();
		if (options_parse_ulong(v, 1, 31L * 86400, &n) != 0)
			return err_set(e, SAFS_ERR_USAGE, "token_ttl=%s: "
			    "expected seconds, 1 to 2678400", v);
		o->token_ttl = (long)n;
		return 0;
	}
	if (strcmp(k, "refresh") == 0) {
		NEED_VALUE();
		if (options_parse_ulong(v, 1, 99, &n) != 0)
			return err_set(e, SAFS_ERR_USAGE,
			    "refresh=%s: expected a percentage, 1 to 99", v);
		o->refresh = (int)n;
		return 0;
	}
	if (strcmp(k, "uid") == 0 || strcmp(k, "gid") == 0) {
		NEED_VALUE();
		if (parse_id(v, k[0] == 'u', &n) != 0)
			return err_set(e, SAFS_ERR_USAGE, "%s=%s: no such %s",
			    k, v, k[0] == 'u' ? "user" : "group");
		if (k[0] == 'u') {
			o->uid = (uid_t)n;
			o->have_uid = 1;
		} else {
			o->gid = (gid_t)n;
			o->have_gid = 1;
		}
		return 0;
	}
	if (strcmp(k, "mode") == 0) {
		char *end;

		NEED_VALUE();
		errno = 0;
		n = strtoul(v, &end, 8);
		if (*v < '0' || *v > '7' || *end != '\0' || errno != 0 ||
		    n == 0 || (n & ~0444UL) != 0)
			return err_set(e, SAFS_ERR_USAGE, "mode=%s: expected "
			    "read bits only, such as 0400, 0440 or 0444", v);
		o->mode = (mode_t)n;
		o->have_mode = 1;
		return 0;
	}
	if (util_in_list(fuse_flags, k)) {
		NO_VALUE();
		if (strcmp(k, "allow_other") == 0)
			o->allow_other = 1;
		return add_fuse(o, k, e);
	}
	if (util_in_list(fuse_values, k)) {
		NEED_VALUE();
		v[-1] = '=';
		return add_fuse(o, k, e);
	}
	if (util_in_list(ignored, k) || strncmp(k, "x-", 2) == 0 ||
	    strcmp(k, "comment") == 0)
		return 0;
#undef NEED_VALUE
#undef NO_VALUE
#undef STR
#undef FLAG
	return err_set(e, SAFS_ERR_USAGE, "unknown option '%s'", k);
}

int
options_parse(struct safs_opts *o, const char *s, struct errbuf *e)
{
	char *item;
	size_t i, n = strlen(s), j = 0;
	int r = 0;

	if ((item = malloc(n + 1)) == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	for (i = 0; i <= n && r == 0; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			item[j++] = s[++i];
			continue;
		}
		if (s[i] == ',' || s[i] == '\0') {
			item[j] = '\0';
			r = parse_one(o, item, e);
			j = 0;
			continue;
		}
		item[j++] = s[i];
	}
	free(item);
	return r;
}

int
options_validate(const struct safs_opts *o, struct errbuf *e)
{
	int sources = (o->passfile != NULL) + (o->passfd >= 0) +
	    (o->extpass != NULL);

	if (sources > 1)
		return err_set(e, SAFS_ERR_USAGE, "give only one of "
		    "passfile=, passfd= and extpass=");
	if (o->cipher != NULL && *o->cipher == '\0')
		return err_set(e, SAFS_ERR_USAGE, "cipher= is empty");
	return 0;
}
