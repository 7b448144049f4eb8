/* SPDX-License-Identifier: MIT */
/* err: safs_strerror, err_set, err_msg. */
#include <string.h>

#include "err.h"
#include "test.h"

static const int all_codes[] = { SAFS_OK, SAFS_ERR_INTERNAL, SAFS_ERR_NOMEM,
	SAFS_ERR_USAGE, SAFS_ERR_CONFIG, SAFS_ERR_SOURCE, SAFS_ERR_TOO_LARGE,
	SAFS_ERR_FORMAT, SAFS_ERR_UNSUPPORTED, SAFS_ERR_PASSPHRASE,
	SAFS_ERR_NOPASS, SAFS_ERR_JSON, SAFS_ERR_ACCOUNT, SAFS_ERR_KEY,
	SAFS_ERR_SIGN, SAFS_ERR_PLAINTEXT, SAFS_ERR_SYSTEM };
#define NCODES (sizeof(all_codes) / sizeof(*all_codes))

static void
test_codes_are_distinct_negatives(void)
{
	/* The enum is a contract main() maps to exit codes: 0 is success,
	 * every error negative and unique. */
	ASSERT_INT_EQ(SAFS_OK, 0);
	for (size_t i = 1; i < NCODES; i++) {
		ASSERT_INT_LT(all_codes[i], 0);
		for (size_t j = 0; j < i; j++)
			ASSERT_INT_NE(all_codes[i], all_codes[j]);
	}
}

static void
test_strerror_every_code(void)
{
	for (size_t i = 0; i < NCODES; i++) {
		const char *s = safs_strerror(all_codes[i]);

		ASSERT_PTR_NE(s, NULL);
		ASSERT_SIZE_T_GT(strlen(s), 0);
	}
	/* Each code has its own text; two codes sharing one would make
	 * main()'s one line ambiguous. */
	for (size_t i = 0; i < NCODES; i++)
		for (size_t j = 0; j < i; j++)
			ASSERT_STR_NE(safs_strerror(all_codes[i]),
			    safs_strerror(all_codes[j]));
	/* A wrong passphrase is reported as such, never as "corrupt". */
	ASSERT_STR_NE(safs_strerror(SAFS_ERR_PASSPHRASE),
	    safs_strerror(SAFS_ERR_FORMAT));
	ASSERT_STR_CONTAINS(safs_strerror(SAFS_ERR_PASSPHRASE), "passphrase");
	ASSERT_STR_NOT_CONTAINS(safs_strerror(SAFS_ERR_FORMAT), "passphrase");
	/* Unknown codes still get a string. */
	ASSERT_PTR_NE(safs_strerror(-999), NULL);
	ASSERT_PTR_NE(safs_strerror(12345), NULL);
	ASSERT_STR_NE(safs_strerror(-999), safs_strerror(SAFS_OK));
}

static void
test_err_set(void)
{
	struct errbuf e;
	char longarg[600];

	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(err_set(&e, SAFS_ERR_CONFIG, "key %s at %d", "ttl", 7),
	    SAFS_ERR_CONFIG);
	ASSERT_STR_EQ(e.msg, "key ttl at 7");
	/* A second error replaces the first. */
	ASSERT_INT_EQ(err_set(&e, SAFS_ERR_KEY, "%s", "other"), SAFS_ERR_KEY);
	ASSERT_STR_EQ(e.msg, "other");
	/* NULL errbuf: just the code. */
	ASSERT_INT_EQ(err_set(NULL, SAFS_ERR_SOURCE, "x %s", "y"),
	    SAFS_ERR_SOURCE);
	/* Overlong details are truncated, still NUL-terminated. */
	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	err_set(&e, SAFS_ERR_USAGE, "%s", longarg);
	ASSERT_SIZE_T_EQ(strlen(e.msg), sizeof(e.msg) - 1);
	ASSERT_MEM_EQ(e.msg, longarg, sizeof(e.msg) - 1);
}

static void
test_err_msg(void)
{
	struct errbuf e;

	memset(&e, 0, sizeof(e));
	/* Nothing set: the generic text of the code. */
	ASSERT_STR_EQ(err_msg(&e, SAFS_ERR_FORMAT),
	    safs_strerror(SAFS_ERR_FORMAT));
	ASSERT_STR_EQ(err_msg(NULL, SAFS_ERR_JSON),
	    safs_strerror(SAFS_ERR_JSON));
	err_set(&e, SAFS_ERR_FORMAT, "source %s is truncated", "f.enc");
	ASSERT_STR_EQ(err_msg(&e, SAFS_ERR_FORMAT),
	    "source f.enc is truncated");
	ASSERT_PTR_EQ(err_msg(&e, SAFS_ERR_FORMAT), e.msg);
}

int
main(void)
{
	test_init();
	TEST(test_codes_are_distinct_negatives);
	TEST(test_strerror_every_code);
	TEST(test_err_set);
	TEST(test_err_msg);
	return test_done();
}
