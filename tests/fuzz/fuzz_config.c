/* SPDX-License-Identifier: MIT */
/*
 * The token config file: config_parse() of the input under the default
 * mount options, then under options that set every claim (so the
 * option-over-file merge runs), then with an empty resource_access list.
 */
#include "fuzz.h"

#include "config.h"
#include "options.h"

static const char *const variants[] = {
	NULL,
	"audience=https://fuzz.example/,user_id=u-1,project_id=p-1,"
	"display_name=Fuzz\\, Test,resource_access=r1:r2,token_ttl=600,"
	"refresh=50",
	"resource_access=",
};

static void
check_config(const struct token_config *c)
{
	const struct token_profile *p;

	FUZZ_CHECK(c->nprofiles == 0 || c->profiles != NULL);
	if (c->has_default)
		FUZZ_CHECK(c->nprofiles > 0 &&
		    strcmp(c->profiles[0].name, CONFIG_DEFAULT_PROFILE) == 0);
	for (size_t i = 0; i < c->nprofiles; i++) {
		p = &c->profiles[i];
		FUZZ_CHECK(options_safe_name(p->name));
		FUZZ_CHECK(p->audience != NULL && *p->audience != '\0');
		FUZZ_CHECK(p->ttl >= 1 && p->ttl <= CONFIG_MAX_TTL);
		FUZZ_CHECK(p->refresh >= 1 && p->refresh <= 99);
		FUZZ_CHECK(config_find(c, p->name) != NULL);
		if (p->resource_access != NULL)
			for (char **s = p->resource_access; *s != NULL; s++)
				FUZZ_CHECK(**s != '\0');
	}
	FUZZ_CHECK(config_find(c, "no/such/profile") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_config c;
	struct safs_opts o;
	struct errbuf e;
	int r;

	fuzz_init();
	for (size_t i = 0; i < sizeof(variants) / sizeof(*variants); i++) {
		options_init(&o);
		memset(&e, 0, sizeof(e));
		if (variants[i] != NULL)
			FUZZ_CHECK(options_parse(&o, variants[i], &e) == 0);
		memset(&e, 0, sizeof(e));
		r = config_parse((const char *)data, size, &o, &c, &e);
		fuzz_check_result(r, &e);
		if (r == 0)
			check_config(&c);
		else
			FUZZ_CHECK(c.nprofiles == 0 && c.profiles == NULL);
		config_free(&c);
		options_free(&o);
	}
	return 0;
}
