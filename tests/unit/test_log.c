/* SPDX-License-Identifier: MIT */
/* log: the stderr sink, level prefixes, escaping, debug gating. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

static int capture_pipe[2] = { -1, -1 };
static int saved_stderr = -1;

static void
capture_begin(void)
{
	ASSERT_INT_EQ(pipe2(capture_pipe, O_CLOEXEC), 0);
	ASSERT_INT_GE(saved_stderr = dup(STDERR_FILENO), 0);
	ASSERT_INT_EQ(dup2(capture_pipe[1], STDERR_FILENO), STDERR_FILENO);
	close(capture_pipe[1]);
	capture_pipe[1] = -1;
}

/* Everything written to stderr since capture_begin(), malloc'd. */
static char *
capture_end(void)
{
	char *buf = malloc(65536);
	size_t len = 0;
	ssize_t n;

	ASSERT_PTR_NE(buf, NULL);
	ASSERT_INT_EQ(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	while ((n = read(capture_pipe[0], buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(capture_pipe[0]);
	capture_pipe[0] = -1;
	buf[len] = '\0';
	return buf;
}

static void
test_prefixes(void)
{
	char *out;

	log_init(0, 0);
	capture_begin();
	log_error("e %d", 1);
	log_warn("w %s", "two");
	log_info("i");
	out = capture_end();
	ASSERT_STR_EQ(out, "safs: error: e 1\nsafs: warning: w two\n"
	    "safs: i\n");
	free(out);
}

static void
test_control_chars_escaped(void)
{
	char in[64], *out;
	size_t i;

	log_init(0, 0);
	capture_begin();
	/* A newline must not let a file name forge a second log line; ESC
	 * must not reach a terminal. */
	log_error("name=%s", "a\nsafs: error: forged\x1b[2J\tb\x7f" "c\r");
	out = capture_end();
	ASSERT_STR_EQ(out, "safs: error: name=a\\x0asafs: error: forged"
	    "\\x1b[2J\\x09b\\x7fc\\x0d\n");
	free(out);

	/* Every control byte 0x01-0x1f comes out as \xNN, never raw. */
	for (i = 1; i < 0x20; i++)
		in[i - 1] = (char)i;
	in[0x1f] = '\0';
	capture_begin();
	log_warn("%s", in);
	out = capture_end();
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20)
			ASSERT_TRUE(out[i] == '\n' && out[i + 1] == '\0');
	ASSERT_STR_CONTAINS(out, "\\x01\\x02");
	ASSERT_STR_CONTAINS(out, "\\x1e\\x1f\n");
	free(out);

	/* Non-ASCII UTF-8 passes through unchanged. */
	capture_begin();
	log_info("caf\xc3\xa9");
	out = capture_end();
	ASSERT_STR_EQ(out, "safs: caf\xc3\xa9\n");
	free(out);
}

static void
test_debug_gating(void)
{
	char *out;

	log_init(0, 0);
	ASSERT_INT_EQ(log_debug_enabled(), 0);
	capture_begin();
	log_debug("hidden %d", 1);
	log_msg(LOG_DEBUG, "hidden too");
	out = capture_end();
	ASSERT_STR_EQ(out, "");
	free(out);

	log_init(0, 1);
	ASSERT_INT_NE(log_debug_enabled(), 0);
	capture_begin();
	log_debug("shown %d", 2);
	out = capture_end();
	/* __func__ names the caller. */
	ASSERT_STR_EQ(out, "safs: debug: test_debug_gating: shown 2\n");
	free(out);
	log_init(0, 0);
}

static void
test_long_line_one_write(void)
{
	char big[3000], nls[400], *out;

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(nls, '\n', sizeof(nls) - 1);
	nls[sizeof(nls) - 1] = '\0';
	log_init(0, 0);
	capture_begin();
	log_error("%s", big);
	log_error("%s", nls);
	out = capture_end();
	/* Truncated, yet each message is still exactly one line, and an
	 * escape is never cut in half. */
	ASSERT_INT_EQ(strncmp(out, "safs: error: yyy", 16), 0);
	{
		char *nl = strchr(out, '\n');
		char *second;

		ASSERT_PTR_NE(nl, NULL);
		second = nl + 1;
		ASSERT_INT_EQ(strncmp(second, "safs: error: \\x0a", 17), 0);
		nl = strchr(second, '\n');
		ASSERT_PTR_NE(nl, NULL);
		ASSERT_STR_EQ(nl, "\n");
		ASSERT_INT_EQ((nl - second - 13) % 4, 0);
	}
	free(out);
}

int
main(void)
{
	test_init();
	TEST(test_prefixes);
	TEST(test_control_chars_escaped);
	TEST(test_debug_gating);
	TEST(test_long_line_one_write);
	return test_done();
}
