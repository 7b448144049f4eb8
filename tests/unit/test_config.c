/* SPDX-License-Identifier: MIT */
/* config: the config= JSON (defaults, profiles, claims) and the mount
 * options that override its default profile. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "options.h"
#include "secmem.h"
#include "test.h"

static char *dir;

/* The brief's example, verbatim. */
static const char brief_example[] =
    "{\n"
    "  \"audience\": \"acme.chata.io\",\n"
    "  \"token_ttl\": 3600,\n"
    "  \"refresh\": 80,\n"
    "  \"profiles\": {\n"
    "    \"default\":   {\"user_id\": \"svc-etl\", \"project_id\": "
    "\"p-123\",\n"
    "                  \"resource_access\": "
    "[\"/autoql/api/v1/query/**\"]},\n"
    "    \"reporting\": {\"user_id\": \"svc-bi\", \"project_id\": "
    "\"p-123\",\n"
    "                  \"display_name\": \"BI\", \"claims\": "
    "{\"acl_id\": \"42\"}}\n"
    "  }\n"
    "}\n";

static int
parse_with(const char *json, const char *opts, struct token_config *c,
    struct errbuf *e)
{
	struct safs_opts o;
	int r;

	options_init(&o);
	memset(e, 0, sizeof(*e));
	if (opts != NULL)
		ASSERT_INT_EQ(options_parse(&o, opts, e), 0);
	memset(c, 0x5a, sizeof(*c));
	r = config_parse(json, json ? strlen(json) : 0, &o, c, e);
	options_free(&o);
	if (r != 0) {
		/* A failed parse leaves nothing to free, and free is safe. */
		ASSERT_SIZE_T_EQ(c->nprofiles, 0);
		ASSERT_PTR_EQ(c->profiles, NULL);
		ASSERT_INT_EQ(c->has_default, 0);
		config_free(c);
	}
	return r;
}

static void
expect_bad(const char *json, int code, const char *has1, const char *has2)
{
	struct token_config c;
	struct errbuf e;
	int r = parse_with(json, NULL, &c, &e);

	if (r == 0 && code != 0)
		config_free(&c);
	if (r != code)
		TEST_FAIL("config_parse(%s) = %d (%s), want %d", json, r,
		    e.msg, code);
	if (has1 != NULL)
		ASSERT_STR_CONTAINS(e.msg, has1);
	if (has2 != NULL)
		ASSERT_STR_CONTAINS(e.msg, has2);
}

static size_t
nra(const struct token_profile *p)
{
	size_t n = 0;

	if (p->resource_access == NULL)
		return 0;
	while (p->resource_access[n] != NULL)
		n++;
	return n;
}

static const char *
claim_str(const struct token_profile *p, const char *k)
{
	const cJSON *m;

	if (p->claims == NULL)
		return NULL;
	m = cJSON_GetObjectItemCaseSensitive(p->claims, k);
	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static void
test_brief_example(void)
{
	struct token_config c;
	const struct token_profile *d, *r;
	struct errbuf e;

	ASSERT_INT_EQ(parse_with(brief_example, NULL, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 2);
	ASSERT_INT_EQ(c.has_default, 1);
	d = &c.profiles[0];
	ASSERT_STR_EQ(d->name, CONFIG_DEFAULT_PROFILE);
	ASSERT_STR_EQ(d->audience, "acme.chata.io");
	ASSERT_INT_EQ(d->ttl, 3600);
	ASSERT_INT_EQ(d->refresh, 80);
	ASSERT_STR_EQ(d->user_id, "svc-etl");
	ASSERT_STR_EQ(d->project_id, "p-123");
	ASSERT_PTR_EQ(d->display_name, NULL);
	ASSERT_SIZE_T_EQ(nra(d), 1);
	ASSERT_STR_EQ(d->resource_access[0], "/autoql/api/v1/query/**");
	ASSERT_TRUE(d->claims == NULL ||
	    cJSON_GetArraySize(d->claims) == 0);

	r = config_find(&c, "reporting");
	ASSERT_PTR_EQ(r, &c.profiles[1]);
	ASSERT_STR_EQ(r->name, "reporting");
	/* Top-level defaults are inherited. */
	ASSERT_STR_EQ(r->audience, "acme.chata.io");
	ASSERT_INT_EQ(r->ttl, 3600);
	ASSERT_INT_EQ(r->refresh, 80);
	ASSERT_STR_EQ(r->user_id, "svc-bi");
	ASSERT_STR_EQ(r->project_id, "p-123");
	ASSERT_STR_EQ(r->display_name, "BI");
	ASSERT_SIZE_T_EQ(nra(r), 0);
	ASSERT_STR_EQ(claim_str(r, "acl_id"), "42");
	ASSERT_INT_EQ(cJSON_GetArraySize(r->claims), 1);
	ASSERT_PTR_EQ(config_find(&c, "default"), &c.profiles[0]);
	ASSERT_PTR_EQ(config_find(&c, "nope"), NULL);
	ASSERT_PTR_EQ(config_find(&c, "Reporting"), NULL);
	config_free(&c);
	ASSERT_SIZE_T_EQ(c.nprofiles, 0);
	config_free(&c);
}

static void
test_inheritance_and_overrides(void)
{
	struct token_config c;
	const struct token_profile *d, *p, *q;
	struct errbuf e;

	/* Top level: defaults for every profile; a profile overrides its
	 * own keys only. No project_id anywhere: left NULL (the account's
	 * is used when minting). */
	ASSERT_INT_EQ(parse_with("{\"audience\":\"top.aud\",\"token_ttl\":600,"
	    "\"refresh\":50,\"user_id\":\"top-user\",\"resource_access\":"
	    "[\"/a/**\",\"/b\"],\"claims\":{\"tenant\":\"acme\",\"acl_id\":"
	    "\"1\"},\"profiles\":{\"short\":{\"token_ttl\":60,\"claims\":"
	    "{\"acl_id\":\"42\",\"tier\":3}},\"other\":{\"audience\":"
	    "\"other.aud\",\"refresh\":90,\"resource_access\":[]}}}", NULL,
	    &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 3);
	/* No profiles.default, but an audience: the top level alone makes
	 * the default token. */
	ASSERT_INT_EQ(c.has_default, 1);
	d = &c.profiles[0];
	ASSERT_STR_EQ(d->name, "default");
	ASSERT_STR_EQ(d->audience, "top.aud");
	ASSERT_INT_EQ(d->ttl, 600);
	ASSERT_INT_EQ(d->refresh, 50);
	ASSERT_STR_EQ(d->user_id, "top-user");
	ASSERT_PTR_EQ(d->project_id, NULL);
	ASSERT_PTR_EQ(d->display_name, NULL);
	ASSERT_SIZE_T_EQ(nra(d), 2);
	ASSERT_STR_EQ(claim_str(d, "acl_id"), "1");
	ASSERT_STR_EQ(claim_str(d, "tenant"), "acme");

	p = config_find(&c, "short");
	ASSERT_PTR_NE(p, NULL);
	ASSERT_STR_EQ(p->audience, "top.aud");
	ASSERT_INT_EQ(p->ttl, 60);
	ASSERT_INT_EQ(p->refresh, 50);
	ASSERT_STR_EQ(p->user_id, "top-user");
	ASSERT_PTR_EQ(p->project_id, NULL);
	ASSERT_SIZE_T_EQ(nra(p), 2);
	ASSERT_STR_EQ(p->resource_access[0], "/a/**");
	ASSERT_STR_EQ(p->resource_access[1], "/b");
	/* Claims merged: the profile's keys win, the others stay. */
	ASSERT_INT_EQ(cJSON_GetArraySize(p->claims), 3);
	ASSERT_STR_EQ(claim_str(p, "tenant"), "acme");
	ASSERT_STR_EQ(claim_str(p, "acl_id"), "42");
	ASSERT_INT_EQ(cJSON_GetObjectItemCaseSensitive(p->claims,
	    "tier")->valueint, 3);

	q = config_find(&c, "other");
	ASSERT_PTR_NE(q, NULL);
	ASSERT_STR_EQ(q->audience, "other.aud");
	ASSERT_INT_EQ(q->ttl, 600);
	ASSERT_INT_EQ(q->refresh, 90);
	/* An explicit empty list replaces the inherited one. */
	ASSERT_PTR_NE(q->resource_access, NULL);
	ASSERT_SIZE_T_EQ(nra(q), 0);
	config_free(&c);
}

static void
test_mount_options_override_default_only(void)
{
	struct token_config c;
	const struct token_profile *d, *r;
	struct errbuf e;

	ASSERT_INT_EQ(parse_with(brief_example, "audience=opt.aud,"
	    "user_id=opt-user,project_id=opt-proj,display_name=Opt,"
	    "resource_access=/x/**:/y,token_ttl=120,refresh=25", &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 2);
	d = &c.profiles[0];
	ASSERT_STR_EQ(d->audience, "opt.aud");
	ASSERT_STR_EQ(d->user_id, "opt-user");
	ASSERT_STR_EQ(d->project_id, "opt-proj");
	ASSERT_STR_EQ(d->display_name, "Opt");
	ASSERT_INT_EQ(d->ttl, 120);
	ASSERT_INT_EQ(d->refresh, 25);
	ASSERT_SIZE_T_EQ(nra(d), 2);
	ASSERT_STR_EQ(d->resource_access[0], "/x/**");
	ASSERT_STR_EQ(d->resource_access[1], "/y");
	/* The other profiles keep what the file says. */
	r = config_find(&c, "reporting");
	ASSERT_STR_EQ(r->audience, "acme.chata.io");
	ASSERT_STR_EQ(r->user_id, "svc-bi");
	ASSERT_STR_EQ(r->project_id, "p-123");
	ASSERT_STR_EQ(r->display_name, "BI");
	ASSERT_INT_EQ(r->ttl, 3600);
	ASSERT_INT_EQ(r->refresh, 80);
	ASSERT_SIZE_T_EQ(nra(r), 0);
	config_free(&c);

	/* One option alone changes only that field. */
	ASSERT_INT_EQ(parse_with(brief_example, "user_id=only-this", &c, &e),
	    0);
	ASSERT_STR_EQ(c.profiles[0].user_id, "only-this");
	ASSERT_STR_EQ(c.profiles[0].audience, "acme.chata.io");
	ASSERT_STR_EQ(c.profiles[0].project_id, "p-123");
	ASSERT_SIZE_T_EQ(nra(&c.profiles[0]), 1);
	config_free(&c);

	/* profiles.default without an audience, given by the option. */
	ASSERT_INT_EQ(parse_with("{\"profiles\":{\"default\":{\"user_id\":"
	    "\"u\"}}}", "audience=from.opt", &c, &e), 0);
	ASSERT_INT_EQ(c.has_default, 1);
	ASSERT_STR_EQ(c.profiles[0].audience, "from.opt");
	ASSERT_STR_EQ(c.profiles[0].user_id, "u");
	config_free(&c);
}

static void
test_options_only(void)
{
	struct token_config c;
	struct errbuf e;

	/* No config at all. */
	ASSERT_INT_EQ(parse_with(NULL, NULL, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 0);
	ASSERT_INT_EQ(c.has_default, 0);
	config_free(&c);

	ASSERT_INT_EQ(parse_with(NULL, "audience=acme.chata.io", &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 1);
	ASSERT_INT_EQ(c.has_default, 1);
	ASSERT_STR_EQ(c.profiles[0].name, "default");
	ASSERT_STR_EQ(c.profiles[0].audience, "acme.chata.io");
	ASSERT_INT_EQ(c.profiles[0].ttl, CONFIG_DEFAULT_TTL);
	ASSERT_INT_EQ(c.profiles[0].refresh, CONFIG_DEFAULT_REFRESH);
	ASSERT_PTR_EQ(c.profiles[0].user_id, NULL);
	ASSERT_PTR_EQ(c.profiles[0].project_id, NULL);
	ASSERT_PTR_EQ(c.profiles[0].display_name, NULL);
	ASSERT_PTR_EQ(c.profiles[0].claims, NULL);
	ASSERT_SIZE_T_EQ(nra(&c.profiles[0]), 0);
	ASSERT_INT_EQ(CONFIG_DEFAULT_TTL, 3600);
	ASSERT_INT_EQ(CONFIG_DEFAULT_REFRESH, 80);
	config_free(&c);

	/* resource_access= (empty) is an empty list, not absent. */
	ASSERT_INT_EQ(parse_with(NULL, "audience=a,resource_access=", &c, &e),
	    0);
	ASSERT_PTR_NE(c.profiles[0].resource_access, NULL);
	ASSERT_SIZE_T_EQ(nra(&c.profiles[0]), 0);
	config_free(&c);

	/* Claims with no audience anywhere: a usage error, not silence. */
	ASSERT_INT_EQ(parse_with(NULL, "user_id=svc", &c, &e),
	    SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "audience");
	ASSERT_INT_EQ(parse_with(NULL, "token_ttl=60", &c, &e),
	    SAFS_ERR_USAGE);
	ASSERT_INT_EQ(parse_with(NULL, "resource_access=/a", &c, &e),
	    SAFS_ERR_USAGE);
	/* A file with profiles but no default and no audience: only the
	 * named profiles, no token entry. */
	ASSERT_INT_EQ(parse_with("{\"profiles\":{\"bi\":{\"audience\":"
	    "\"bi.aud\"}}}", NULL, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 1);
	ASSERT_INT_EQ(c.has_default, 0);
	ASSERT_STR_EQ(c.profiles[0].name, "bi");
	ASSERT_PTR_EQ(config_find(&c, "default"), NULL);
	config_free(&c);
	ASSERT_INT_EQ(parse_with("{\"profiles\":{\"bi\":{\"audience\":"
	    "\"bi.aud\"}}}", "user_id=x", &c, &e), SAFS_ERR_USAGE);
	ASSERT_INT_EQ(parse_with("{}", NULL, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 0);
	config_free(&c);
}

static void
test_invalid_json_shape(void)
{
	expect_bad("", SAFS_ERR_CONFIG, "JSON", NULL);
	expect_bad("{", SAFS_ERR_CONFIG, "JSON", NULL);
	expect_bad("{\"audience\": }", SAFS_ERR_CONFIG, "JSON", NULL);
	expect_bad("{'audience': 'x'}", SAFS_ERR_CONFIG, "JSON", NULL);
	expect_bad("[]", SAFS_ERR_CONFIG, "object", NULL);
	expect_bad("\"x\"", SAFS_ERR_CONFIG, "object", NULL);
	expect_bad("null", SAFS_ERR_CONFIG, NULL, NULL);
	expect_bad("{\"audience\":\"a\"} x", SAFS_ERR_CONFIG, "after", NULL);
	expect_bad("{\"audience\":\"a\"}{}", SAFS_ERR_CONFIG, "after", NULL);
	/* Trailing whitespace is fine. */
	{
		struct token_config c;
		struct errbuf e;

		ASSERT_INT_EQ(parse_with("{\"audience\":\"a\"} \n\t\r\n", NULL,
		    &c, &e), 0);
		config_free(&c);
	}
}

static void
test_invalid_keys_and_types(void)
{
	/* Unknown keys, at the top and in a profile (typos must not be
	 * silently ignored). */
	expect_bad("{\"audiance\":\"a\"}", SAFS_ERR_CONFIG, "audiance", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"user\":"
	    "\"x\"}}}", SAFS_ERR_CONFIG, "user", "profiles.bi");
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"profiles\":"
	    "{}}}}", SAFS_ERR_CONFIG, "profiles", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"default\":{\"ttl\":"
	    "5}}}", SAFS_ERR_CONFIG, "ttl", "profiles.default");
	/* Wrong types. */
	expect_bad("{\"audience\":42}", SAFS_ERR_CONFIG, "audience", "string");
	expect_bad("{\"audience\":[\"a\"]}", SAFS_ERR_CONFIG, "audience",
	    NULL);
	expect_bad("{\"audience\":\"a\",\"user_id\":7}", SAFS_ERR_CONFIG,
	    "user_id", NULL);
	expect_bad("{\"audience\":\"a\",\"project_id\":null}",
	    SAFS_ERR_CONFIG, "project_id", NULL);
	expect_bad("{\"audience\":\"a\",\"display_name\":false}",
	    SAFS_ERR_CONFIG, "display_name", NULL);
	expect_bad("{\"audience\":\"a\",\"token_ttl\":\"3600\"}",
	    SAFS_ERR_CONFIG, "token_ttl", "integer");
	expect_bad("{\"audience\":\"a\",\"token_ttl\":1.5}", SAFS_ERR_CONFIG,
	    "token_ttl", "integer");
	expect_bad("{\"audience\":\"a\",\"token_ttl\":true}", SAFS_ERR_CONFIG,
	    "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"refresh\":\"80\"}", SAFS_ERR_CONFIG,
	    "refresh", NULL);
	expect_bad("{\"audience\":\"a\",\"refresh\":80.5}", SAFS_ERR_CONFIG,
	    "refresh", NULL);
	expect_bad("{\"audience\":\"a\",\"resource_access\":\"/a/**\"}",
	    SAFS_ERR_CONFIG, "resource_access", NULL);
	expect_bad("{\"audience\":\"a\",\"resource_access\":[\"/a\",1]}",
	    SAFS_ERR_CONFIG, "resource_access", NULL);
	expect_bad("{\"audience\":\"a\",\"resource_access\":[\"\"]}",
	    SAFS_ERR_CONFIG, "resource_access", NULL);
	expect_bad("{\"audience\":\"a\",\"resource_access\":{}}",
	    SAFS_ERR_CONFIG, "resource_access", NULL);
	expect_bad("{\"audience\":\"a\",\"claims\":[]}", SAFS_ERR_CONFIG,
	    "claims", "object");
	expect_bad("{\"audience\":\"a\",\"claims\":\"acl\"}", SAFS_ERR_CONFIG,
	    "claims", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":[]}", SAFS_ERR_CONFIG,
	    "profiles", "object");
	expect_bad("{\"audience\":\"a\",\"profiles\":\"bi\"}",
	    SAFS_ERR_CONFIG, "profiles", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":\"x\"}}",
	    SAFS_ERR_CONFIG, "profiles.bi", "object");
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":[]}}",
	    SAFS_ERR_CONFIG, "profiles.bi", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"default\":7}}",
	    SAFS_ERR_CONFIG, "profiles.default", NULL);
	/* Type errors inside a profile name the profile. */
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"token_ttl\":"
	    "\"x\"}}}", SAFS_ERR_CONFIG, "profiles.bi.token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"default\":{"
	    "\"audience\":1}}}", SAFS_ERR_CONFIG, "profiles.default.audience",
	    NULL);
}

static void
test_invalid_ranges(void)
{
	char json[256];

	expect_bad("{\"audience\":\"a\",\"token_ttl\":0}", SAFS_ERR_CONFIG,
	    "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"token_ttl\":-60}", SAFS_ERR_CONFIG,
	    "token_ttl", NULL);
	snprintf(json, sizeof(json), "{\"audience\":\"a\",\"token_ttl\":%ld}",
	    CONFIG_MAX_TTL + 1);
	expect_bad(json, SAFS_ERR_CONFIG, "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"token_ttl\":1e300}", SAFS_ERR_CONFIG,
	    "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"token_ttl\":-1e300}",
	    SAFS_ERR_CONFIG, "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"token_ttl\":9223372036854775808}",
	    SAFS_ERR_CONFIG, "token_ttl", NULL);
	expect_bad("{\"audience\":\"a\",\"refresh\":0}", SAFS_ERR_CONFIG,
	    "refresh", NULL);
	expect_bad("{\"audience\":\"a\",\"refresh\":100}", SAFS_ERR_CONFIG,
	    "refresh", NULL);
	expect_bad("{\"audience\":\"a\",\"refresh\":-1}", SAFS_ERR_CONFIG,
	    "refresh", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"refresh\":"
	    "100}}}", SAFS_ERR_CONFIG, "profiles.bi.refresh", NULL);
	/* The edges themselves are valid. */
	{
		struct token_config c;
		struct errbuf e;

		snprintf(json, sizeof(json), "{\"audience\":\"a\","
		    "\"token_ttl\":%ld,\"refresh\":99,\"profiles\":{\"one\":"
		    "{\"token_ttl\":1,\"refresh\":1}}}", CONFIG_MAX_TTL);
		ASSERT_INT_EQ(parse_with(json, NULL, &c, &e), 0);
		ASSERT_INT_EQ(c.profiles[0].ttl, CONFIG_MAX_TTL);
		ASSERT_INT_EQ(c.profiles[0].refresh, 99);
		ASSERT_INT_EQ(c.profiles[1].ttl, 1);
		ASSERT_INT_EQ(c.profiles[1].refresh, 1);
		config_free(&c);
		/* 3600.0 is an integer in JSON's number model. */
		ASSERT_INT_EQ(parse_with("{\"audience\":\"a\",\"token_ttl\":"
		    "3600.0}", NULL, &c, &e), 0);
		ASSERT_INT_EQ(c.profiles[0].ttl, 3600);
		config_free(&c);
	}
}

static void
test_invalid_audience_and_names(void)
{
	expect_bad("{\"audience\":\"\"}", SAFS_ERR_CONFIG, "audience", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"audience\":"
	    "\"\"}}}", SAFS_ERR_CONFIG, "audience", NULL);
	expect_bad("{\"audience\":\"a\",\"user_id\":\"\"}", SAFS_ERR_CONFIG,
	    "user_id", NULL);
	/* A profile with no audience, none inherited: named. */
	expect_bad("{\"profiles\":{\"bi\":{\"user_id\":\"x\"}}}",
	    SAFS_ERR_CONFIG, "bi", "audience");
	expect_bad("{\"profiles\":{\"default\":{\"user_id\":\"x\"}}}",
	    SAFS_ERR_CONFIG, "default", "audience");
	/* Profile names become file names under tokens/. */
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"a/b\":{}}}",
	    SAFS_ERR_CONFIG, "a/b", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"..\":{}}}",
	    SAFS_ERR_CONFIG, "..", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"\":{}}}",
	    SAFS_ERR_CONFIG, "profile", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"a b\":{}}}",
	    SAFS_ERR_CONFIG, "a b", NULL);
}

static void
test_invalid_claims(void)
{
	static const char *const own[] = { "iat", "exp", "nbf", "iss", "sub",
		"email", "aud", "project_id", "user_id", "resource_access",
		"display_name" };
	char json[256];

	for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++) {
		snprintf(json, sizeof(json), "{\"audience\":\"a\",\"profiles\":"
		    "{\"bi\":{\"claims\":{\"ok\":1,\"%s\":\"x\"}}}}", own[i]);
		expect_bad(json, SAFS_ERR_CONFIG, own[i], "claims");
		snprintf(json, sizeof(json), "{\"audience\":\"a\",\"claims\":"
		    "{\"%s\":1}}", own[i]);
		expect_bad(json, SAFS_ERR_CONFIG, own[i], NULL);
	}
	/* Any JSON value is a valid extra claim. */
	{
		struct token_config c;
		struct errbuf e;
		const cJSON *m;

		ASSERT_INT_EQ(parse_with("{\"audience\":\"a\",\"claims\":{"
		    "\"n\":1,\"o\":{\"x\":[1,2]},\"b\":false,\"z\":null}}",
		    NULL, &c, &e), 0);
		ASSERT_INT_EQ(cJSON_GetArraySize(c.profiles[0].claims), 4);
		m = cJSON_GetObjectItemCaseSensitive(c.profiles[0].claims, "o");
		ASSERT_TRUE(cJSON_IsObject(m));
		config_free(&c);
	}
}

static void
test_duplicates(void)
{
	expect_bad("{\"audience\":\"a\",\"audience\":\"b\"}", SAFS_ERR_CONFIG,
	    "audience", "twice");
	expect_bad("{\"audience\":\"a\",\"profiles\":{},\"profiles\":{}}",
	    SAFS_ERR_CONFIG, "profiles", NULL);
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{\"user_id\":"
	    "\"x\",\"user_id\":\"y\"}}}", SAFS_ERR_CONFIG, "user_id",
	    "profiles.bi");
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"bi\":{},\"bi\":{}}}",
	    SAFS_ERR_CONFIG, "bi", "twice");
	expect_bad("{\"audience\":\"a\",\"profiles\":{\"default\":{},"
	    "\"default\":{}}}", SAFS_ERR_CONFIG, "default", NULL);
	/* In a claims object just the same: which acl_id would be meant? */
	expect_bad("{\"audience\":\"a\",\"claims\":{\"acl_id\":\"1\","
	    "\"acl_id\":\"2\"}}", SAFS_ERR_CONFIG, "acl_id", NULL);
}

static void
test_config_load_file(void)
{
	struct safs_opts o;
	struct token_config c;
	struct errbuf e;
	char p[4096], *big;

	TEST_PATH(p, dir, "safs.json");
	test_write_str(p, brief_example, 0644);
	options_init(&o);
	ASSERT_INT_EQ(options_parse(&o, "user_id=from-opt", &e), 0);
	o.config = strdup(p);
	ASSERT_PTR_NE(o.config, NULL);
	ASSERT_INT_EQ(config_load(&o, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 2);
	ASSERT_INT_EQ(c.has_default, 1);
	ASSERT_STR_EQ(c.profiles[0].user_id, "from-opt");
	ASSERT_STR_EQ(config_find(&c, "reporting")->display_name, "BI");
	config_free(&c);

	/* A bad file: the error names the key as for config_parse. */
	test_write_str(p, "{\"audience\":\"a\",\"refresh\":100}", 0644);
	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(config_load(&o, &c, &e), SAFS_ERR_CONFIG);
	ASSERT_STR_CONTAINS(e.msg, "refresh");
	ASSERT_SIZE_T_EQ(c.nprofiles, 0);

	/* Missing: CONFIG, naming the file. */
	free(o.config);
	TEST_PATH(p, dir, "missing.json");
	o.config = strdup(p);
	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(config_load(&o, &c, &e), SAFS_ERR_CONFIG);
	ASSERT_STR_CONTAINS(e.msg, p);
	ASSERT_SIZE_T_EQ(c.nprofiles, 0);
	/* A directory. */
	free(o.config);
	o.config = strdup(dir);
	ASSERT_INT_EQ(config_load(&o, &c, &e), SAFS_ERR_CONFIG);
	ASSERT_STR_CONTAINS(e.msg, dir);
	/* Over CONFIG_MAX. */
	free(o.config);
	TEST_PATH(p, dir, "huge.json");
	big = malloc(CONFIG_MAX + 2);
	ASSERT_PTR_NE(big, NULL);
	memset(big, ' ', CONFIG_MAX + 1);
	memcpy(big, "{\"audience\":\"a\"}", 16);
	test_write_file(p, big, CONFIG_MAX + 1, 0644);
	free(big);
	o.config = strdup(p);
	ASSERT_INT_EQ(config_load(&o, &c, &e), SAFS_ERR_CONFIG);
	ASSERT_STR_CONTAINS(e.msg, p);
	options_free(&o);

	/* No config= at all: options alone. */
	options_init(&o);
	ASSERT_INT_EQ(options_parse(&o, "user_id=svc-etl", &e), 0);
	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(config_load(&o, &c, &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "audience");
	ASSERT_INT_EQ(options_parse(&o, "audience=x.chata.io", &e), 0);
	ASSERT_INT_EQ(config_load(&o, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c.nprofiles, 1);
	ASSERT_STR_EQ(c.profiles[0].user_id, "svc-etl");
	config_free(&c);
	options_free(&o);
}

int
main(void)
{
	test_init();
	secmem_cjson_hooks();
	dir = test_tmpdir_new();
	TEST(test_brief_example);
	TEST(test_inheritance_and_overrides);
	TEST(test_mount_options_override_default_only);
	TEST(test_options_only);
	TEST(test_invalid_json_shape);
	TEST(test_invalid_keys_and_types);
	TEST(test_invalid_ranges);
	TEST(test_invalid_audience_and_names);
	TEST(test_invalid_claims);
	TEST(test_duplicates);
	TEST(test_config_load_file);
	test_tmpdir_free(dir);
	return test_done();
}
