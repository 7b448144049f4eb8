/* SPDX-License-Identifier: MIT */
/*
 * Mount-option strings: the input split at NUL bytes into several -o
 * strings, parsed in order as safs's command line does (stopping at the
 * first error), then validated; valid options then build the token
 * profiles without a config file, as the daemon does next.
 */
#include "fuzz.h"

#include "config.h"
#include "options.h"

static void
check_opts(const struct safs_opts *o)
{
	FUZZ_CHECK((o->mode & ~0444) == 0);
	if (o->have_mode)
		FUZZ_CHECK(o->mode != 0);
	FUZZ_CHECK(o->passfd >= -1);
	FUZZ_CHECK(o->token_ttl >= 0 && o->token_ttl <= CONFIG_MAX_TTL);
	FUZZ_CHECK(o->refresh >= 0 && o->refresh <= 99);
	FUZZ_CHECK(o->iter <= 0x7fffffffUL);
	if (o->hide != NULL)
		FUZZ_CHECK(*o->hide != '\0');
	(void)options_list_has(o->hide, "private_key");
	(void)options_list_has(o->resource_access, "r1");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_config c;
	struct safs_opts o;
	struct errbuf e = { { 0 } };
	char *buf, *s, *end;
	int r = 0;

	fuzz_init();
	/* A copy with a NUL after the last string; ASan still sees the
	 * exact end of the allocation. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	options_init(&o);
	for (s = buf, end = buf + size; s <= end && r == 0;
	     s += strlen(s) + 1) {
		r = options_parse(&o, s, &e);
		fuzz_check_result(r, &e);
		FUZZ_CHECK(r == 0 || r == SAFS_ERR_USAGE || r == SAFS_ERR_NOMEM);
	}
	if (r == 0) {
		check_opts(&o);
		r = options_validate(&o, &e);
		fuzz_check_result(r, &e);
	}
	if (r == 0) {
		r = config_parse(NULL, 0, &o, &c, &e);
		fuzz_check_result(r, &e);
		if (r == 0 && c.has_default)
			FUZZ_CHECK(c.nprofiles == 1 &&
			    strcmp(c.profiles[0].audience, o.audience) == 0);
		config_free(&c);
	}
	options_free(&o);
	free(buf);
	return 0;
}
