/* SPDX-License-Identifier: MIT */
/* passphrase: every source (file, fd, program, systemd credentials,
 * terminal) and the first-line rule. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "passphrase.h"
#include "secmem.h"
#include "test.h"

static char *dir;

static const struct passphrase_src no_src = { NULL, -1, NULL, NULL };

/* passphrase_get on src; on success *out holds the passphrase. */
static int
get(const struct passphrase_src *src, struct secbuf **out, int *from,
    int *warn, struct errbuf *e)
{
	memset(e, 0, sizeof(*e));
	*from = -1;
	*warn = -1;
	return passphrase_get(src, out, from, warn, e);
}

/* Expect passphrase want from src, from source kind fromwant. */
#define EXPECT_PASS(src, want, fromwant)				\
	do {								\
		struct secbuf *pw_ = (struct secbuf *)&pw_;		\
		struct errbuf e_;					\
		int from_, warn_, r_;					\
		r_ = get((src), &pw_, &from_, &warn_, &e_);		\
		if (r_ != 0)						\
			TEST_FAIL("passphrase_get: %d: %s", r_,	\
			    e_.msg);					\
		ASSERT_PTR_NE(pw_, NULL);				\
		ASSERT_SIZE_T_EQ(secbuf_len(pw_), strlen(want));	\
		ASSERT_MEM_EQ(secbuf_data(pw_), (want), strlen(want));	\
		ASSERT_INT_EQ(secbuf_data(pw_)[secbuf_len(pw_)], 0);	\
		ASSERT_INT_EQ(from_, (fromwant));			\
		secbuf_free(pw_);					\
	} while (0)

static void
test_first_line(void)
{
	unsigned char big[PASSPHRASE_MAX + 8];

#define FL(s, max) passphrase_first_line((const unsigned char *)(s),	\
	    sizeof(s) - 1, (max))
	ASSERT_INT_EQ(FL("pw\n", 100), 2);
	ASSERT_INT_EQ(FL("pw\r\n", 100), 2);
	ASSERT_INT_EQ(FL("pw", 100), 2);
	ASSERT_INT_EQ(FL("pw\nsecond\n", 100), 2);
	ASSERT_INT_EQ(FL("pw\r\nsecond\r\n", 100), 2);
	ASSERT_INT_EQ(FL("\n", 100), 0);
	ASSERT_INT_EQ(FL("\r\n", 100), 0);
	ASSERT_INT_EQ(FL("\nsecond", 100), 0);
	ASSERT_INT_EQ(FL("", 100), 0);
	/* Only a \r just before the \n goes; inner ones are data. */
	ASSERT_INT_EQ(FL("a\rb\n", 100), 3);
	ASSERT_INT_EQ(FL("pw\r\r\n", 100), 3);
	/* Spaces are part of a passphrase. */
	ASSERT_INT_EQ(FL(" pw \n", 100), 4);
	/* NUL bytes do not end the line. */
	ASSERT_INT_EQ(FL("a\0b\n", 100), 3);
#undef FL

	/* The cap: exactly max is fine, max + 1 is not; the stripped
	 * line ending does not count. */
	memset(big, 'a', sizeof(big));
	ASSERT_INT_EQ(passphrase_first_line(big, PASSPHRASE_MAX,
	    PASSPHRASE_MAX), PASSPHRASE_MAX);
	ASSERT_INT_EQ(passphrase_first_line(big, PASSPHRASE_MAX + 1,
	    PASSPHRASE_MAX), -1);
	big[PASSPHRASE_MAX] = '\r';
	big[PASSPHRASE_MAX + 1] = '\n';
	ASSERT_INT_EQ(passphrase_first_line(big, PASSPHRASE_MAX + 2,
	    PASSPHRASE_MAX), PASSPHRASE_MAX);
	big[PASSPHRASE_MAX] = '\n';
	ASSERT_INT_EQ(passphrase_first_line(big, PASSPHRASE_MAX + 8,
	    PASSPHRASE_MAX), PASSPHRASE_MAX);
	big[PASSPHRASE_MAX] = 'a';
	big[PASSPHRASE_MAX + 1] = '\n';
	ASSERT_INT_EQ(passphrase_first_line(big, PASSPHRASE_MAX + 8,
	    PASSPHRASE_MAX), -1);
	ASSERT_INT_EQ(passphrase_first_line(big, 1, 0), -1);
	ASSERT_INT_EQ(passphrase_first_line(big, 0, 0), 0);
}

static void
passfile_expect_nopass(const char *path, const char *content, size_t len,
    const char *msg_has)
{
	struct passphrase_src src = { path, -1, NULL, NULL };
	struct secbuf *pw = (struct secbuf *)&pw;
	struct errbuf e;
	int from, warn;

	if (content != NULL)
		test_write_file(path, content, len, 0600);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(pw, NULL);
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_FILE);
	if (msg_has != NULL)
		ASSERT_STR_CONTAINS(e.msg, msg_has);
	ASSERT_STR_CONTAINS(e.msg, path);
	/* What was read is never echoed into the message. */
	if (content != NULL && len >= 16) {
		char head[17];

		memcpy(head, content, 16);
		head[16] = '\0';
		ASSERT_STR_NOT_CONTAINS(e.msg, head);
	}
}

static void
test_passfile(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	char p[4096], big[3000];
	int fds = test_fd_count();

	TEST_PATH(p, dir, "pw");
	src.file = p;
	test_write_str(p, "first line\nsecond line\n", 0600);
	EXPECT_PASS(&src, "first line", PASSPHRASE_FROM_FILE);
	test_write_str(p, "crlf-pass\r\nmore\r\n", 0600);
	EXPECT_PASS(&src, "crlf-pass", PASSPHRASE_FROM_FILE);
	test_write_str(p, "no-newline", 0600);
	EXPECT_PASS(&src, "no-newline", PASSPHRASE_FROM_FILE);
	test_write_str(p, "  spaced  \n", 0600);
	EXPECT_PASS(&src, "  spaced  ", PASSPHRASE_FROM_FILE);
	/* A long first line within the cap, then a long tail: fine. */
	memset(big, 'x', sizeof(big));
	big[PASSPHRASE_MAX] = '\n';
	test_write_file(p, big, sizeof(big), 0600);
	{
		char want[PASSPHRASE_MAX + 1];

		memset(want, 'x', PASSPHRASE_MAX);
		want[PASSPHRASE_MAX] = '\0';
		EXPECT_PASS(&src, want, PASSPHRASE_FROM_FILE);
	}
	/* Short first line, file far longer than the cap: first line. */
	big[3] = '\n';
	test_write_file(p, big, sizeof(big), 0600);
	EXPECT_PASS(&src, "xxx", PASSPHRASE_FROM_FILE);

	passfile_expect_nopass(p, "", 0, "empty");
	passfile_expect_nopass(p, "\n", 1, "empty");
	passfile_expect_nopass(p, "\r\nsecond\n", 9, "empty");
	/* Over PASSPHRASE_MAX: one line of 3000 bytes, and 2049 + "\n". */
	memset(big, 'x', sizeof(big));
	passfile_expect_nopass(p, big, sizeof(big), "2048");
	big[PASSPHRASE_MAX + 1] = '\n';
	passfile_expect_nopass(p, big, PASSPHRASE_MAX + 2, "2048");

	/* Missing: NOPASS, and the message names the path. */
	TEST_PATH(p, dir, "missing-pw");
	passfile_expect_nopass(p, NULL, 0, strerror(ENOENT));
	/* A directory is no passfile. */
	passfile_expect_nopass(dir, NULL, 0, NULL);
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_passfile_perms(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	static const mode_t loose[] = { 0640, 0604, 0644, 0660, 0606, 0610 };
	struct secbuf *pw = NULL;
	struct errbuf e;
	char p[4096], l[4096];
	int from, warn;

	TEST_PATH(p, dir, "perm-pw");
	src.file = p;
	test_write_str(p, "permpw\n", 0600);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_INT_EQ(warn & PASSPHRASE_WARN_PERMS, 0);
	ASSERT_INT_EQ(warn, 0);
	secbuf_free(pw);
	test_write_str(p, "permpw\n", 0400);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_INT_EQ(warn, 0);
	secbuf_free(pw);
	for (size_t i = 0; i < sizeof(loose) / sizeof(*loose); i++) {
		ASSERT_INT_EQ(chmod(p, loose[i]), 0);
		ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
		/* A warning, still the passphrase. */
		if ((warn & PASSPHRASE_WARN_PERMS) == 0)
			TEST_FAIL("mode %04o: no PASSPHRASE_WARN_PERMS",
			    (unsigned)loose[i]);
		ASSERT_STR_EQ((char *)secbuf_data(pw), "permpw");
		secbuf_free(pw);
	}

	/* A symlink (Kubernetes Secret volumes) to a 0600 file works, and
	 * the check is on the target, not on the link's own 0777. */
	ASSERT_INT_EQ(chmod(p, 0600), 0);
	TEST_PATH(l, dir, "pw-link");
	ASSERT_INT_EQ(symlink(p, l), 0);
	src.file = l;
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_STR_EQ((char *)secbuf_data(pw), "permpw");
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_FILE);
	ASSERT_INT_EQ(warn, 0);
	secbuf_free(pw);
	/* ... and through the link, a loose target still warns. */
	ASSERT_INT_EQ(chmod(p, 0644), 0);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_INT_NE(warn & PASSPHRASE_WARN_PERMS, 0);
	secbuf_free(pw);
}

static void
test_passfile_fifo(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	char p[4096];
	int w;

	/* A FIFO (a passphrase piped in by a supervisor): the data already
	 * written to it is read, not an early EOF. O_RDWR on Linux opens
	 * a FIFO without waiting for a reader. */
	TEST_PATH(p, dir, "pw-fifo");
	ASSERT_INT_EQ(mkfifo(p, 0600), 0);
	ASSERT_INT_GE(w = open(p, O_RDWR | O_CLOEXEC), 0);
	ASSERT_INT_EQ(write(w, "fifopw\n", 7), 7);
	src.file = p;
	EXPECT_PASS(&src, "fifopw", PASSPHRASE_FROM_FILE);
	close(w);
}

static void
test_passfd(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	struct secbuf *pw = (struct secbuf *)&pw;
	struct errbuf e;
	char rest[16];
	int p[2], keep, from, warn, fds = test_fd_count();

	ASSERT_INT_EQ(pipe(p), 0);
	ASSERT_INT_EQ(write(p[1], "pw\nrest", 7), 7);
	close(p[1]);
	ASSERT_INT_GE(keep = dup(p[0]), 0);
	src.fd = p[0];
	EXPECT_PASS(&src, "pw", PASSPHRASE_FROM_FD);
	/* passfd is closed once read ... */
	errno = 0;
	ASSERT_INT_EQ(fcntl(p[0], F_GETFD), -1);
	ASSERT_INT_EQ(errno, EBADF);
	/* ... and nothing past the first line was consumed. */
	ASSERT_INT_EQ(read(keep, rest, sizeof(rest)), 4);
	ASSERT_MEM_EQ(rest, "rest", 4);
	close(keep);

	/* "\r\n" too, and EOF without a newline. */
	ASSERT_INT_EQ(pipe(p), 0);
	ASSERT_INT_EQ(write(p[1], "fdpw\r\n", 6), 6);
	close(p[1]);
	src.fd = p[0];
	EXPECT_PASS(&src, "fdpw", PASSPHRASE_FROM_FD);
	ASSERT_INT_EQ(pipe(p), 0);
	ASSERT_INT_EQ(write(p[1], "eofpw", 5), 5);
	close(p[1]);
	src.fd = p[0];
	EXPECT_PASS(&src, "eofpw", PASSPHRASE_FROM_FD);

	/* Empty (writer closed at once): NOPASS, and still closed. */
	ASSERT_INT_EQ(pipe(p), 0);
	close(p[1]);
	src.fd = p[0];
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(pw, NULL);
	ASSERT_STR_CONTAINS(e.msg, "passfd=");
	ASSERT_INT_EQ(fcntl(p[0], F_GETFD), -1);

	/* A descriptor that is not open. */
	src.fd = 1000;
	ASSERT_INT_EQ(fcntl(1000, F_GETFD), -1);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(e.msg, "passfd=1000");
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_extpass(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	struct secbuf *pw = (struct secbuf *)&pw;
	struct errbuf e;
	char script[4096], cmd[4200];
	int from, warn, fds = test_fd_count();

	src.extpass = "/bin/echo secret";
	EXPECT_PASS(&src, "secret", PASSPHRASE_FROM_EXTPASS);
	/* Found in PATH; no newline at the end is fine. */
	src.extpass = "printf ext-secret";
	EXPECT_PASS(&src, "ext-secret", PASSPHRASE_FROM_EXTPASS);
	/* First line only. */
	src.extpass = "printf line1\\nline2\\n";
	EXPECT_PASS(&src, "line1", PASSPHRASE_FROM_EXTPASS);
	/* No shell: ';' and '$' reach the program as they are. */
	src.extpass = "/bin/echo a;b";
	EXPECT_PASS(&src, "a;b", PASSPHRASE_FROM_EXTPASS);
	src.extpass = "/bin/echo $HOME`id`|x";
	EXPECT_PASS(&src, "$HOME`id`|x", PASSPHRASE_FROM_EXTPASS);
	/* Split on spaces: runs of spaces separate words. */
	src.extpass = "/bin/echo  two   words";
	EXPECT_PASS(&src, "two words", PASSPHRASE_FROM_EXTPASS);
	/* A program that never stops writing: its first line, and the
	 * SIGPIPE it gets when we stop listening is not a failure. */
	src.extpass = "yes endless";
	EXPECT_PASS(&src, "endless", PASSPHRASE_FROM_EXTPASS);

	/* Printing a line, then failing: the failure wins. */
	TEST_PATH(script, dir, "failing-pw");
	test_write_str(script, "#!/bin/sh\necho notthis\nexit 1\n", 0700);
	src.extpass = script;
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(pw, NULL);
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_EXTPASS);
	ASSERT_STR_CONTAINS(e.msg, "status 1");
	ASSERT_STR_NOT_CONTAINS(e.msg, "notthis");
	/* Killed by a signal other than SIGPIPE. */
	test_write_str(script, "#!/bin/sh\necho notthis\nkill -TERM $$\n",
	    0700);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(pw, NULL);
	/* Arguments reach a script. */
	test_write_str(script, "#!/bin/sh\necho \"$2-$1\"\n", 0700);
	snprintf(cmd, sizeof(cmd), "%s one two", script);
	src.extpass = cmd;
	EXPECT_PASS(&src, "two-one", PASSPHRASE_FROM_EXTPASS);

	/* Failing without a word: the exit status is the cause to name,
	 * not the empty output that came with it. */
	src.extpass = "false";
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(e.msg, "false");
	ASSERT_STR_CONTAINS(e.msg, "status 1");
	src.extpass = "/bin/echo";	/* an empty line */
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(e.msg, "empty");
	src.extpass = "/nonexistent/safs-no-such-program --flag";
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_PTR_EQ(pw, NULL);
	ASSERT_STR_CONTAINS(e.msg, "/nonexistent/safs-no-such-program");
	src.extpass = "safs-no-such-program-in-path";
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(e.msg, "safs-no-such-program-in-path");
	/* Nothing to run at all. */
	src.extpass = "   ";
	ASSERT_INT_LT(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_PTR_EQ(pw, NULL);
	/* No pipe end or child left behind. */
	ASSERT_INT_EQ(test_fd_count(), fds);
	ASSERT_INT_EQ(waitpid(-1, NULL, WNOHANG), -1);
	ASSERT_INT_EQ(errno, ECHILD);
}

static void
test_credentials_directory(void)
{
	struct passphrase_src src = { NULL, -1, NULL, NULL };
	struct secbuf *pw = NULL;
	struct errbuf e;
	char p[4096], f[4096];
	int from, warn;

	TEST_PATH(p, dir, PASSPHRASE_CRED_NAME);
	/* systemd makes credentials 0400 or 0440; no perms warning for
	 * them, they are systemd's business. */
	test_write_str(p, "credpw\nx\n", 0644);
	ASSERT_INT_EQ(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_STR_EQ((char *)secbuf_data(pw), "credpw");
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_CREDENTIALS);
	secbuf_free(pw);
	/* An explicit source wins over the credentials directory. */
	TEST_PATH(f, dir, "explicit-pw");
	test_write_str(f, "explicit\n", 0600);
	src.file = f;
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_STR_EQ((char *)secbuf_data(pw), "explicit");
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_FILE);
	secbuf_free(pw);
	src.file = NULL;
	src.extpass = "/bin/echo fromprog";
	ASSERT_INT_EQ(get(&src, &pw, &from, &warn, &e), 0);
	ASSERT_STR_EQ((char *)secbuf_data(pw), "fromprog");
	ASSERT_INT_EQ(from, PASSPHRASE_FROM_EXTPASS);
	secbuf_free(pw);
	ASSERT_INT_EQ(unlink(p), 0);
	ASSERT_INT_EQ(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

/* A child with no controlling terminal at all. */
static void
test_no_source_no_tty(void)
{
	char p[4096];
	pid_t pid;

	/* A credentials directory without safs.passphrase does not count. */
	TEST_PATH(p, dir, "emptycreds");
	ASSERT_INT_EQ(mkdir(p, 0700), 0);
	if ((pid = fork()) == 0) {
		struct secbuf *pw = (struct secbuf *)&pw;
		struct errbuf e;
		int from, warn, i;

		alarm(20);
		ASSERT_INT_NE(setsid(), -1);
		for (i = 0; i < 2; i++) {
			if (i == 0)
				unsetenv("CREDENTIALS_DIRECTORY");
			else
				setenv("CREDENTIALS_DIRECTORY", p, 1);
			ASSERT_INT_EQ(get(&no_src, &pw, &from, &warn, &e),
			    SAFS_ERR_NOPASS);
			ASSERT_PTR_EQ(pw, NULL);
			ASSERT_INT_EQ(from, PASSPHRASE_FROM_TTY);
			/* The way out is named. */
			ASSERT_STR_CONTAINS(e.msg, "passfile=");
		}
		_exit(0);
	}
	ASSERT_INT_GT(pid, 0);
	ASSERT_INT_EQ(test_wait(pid), 0);
	rmdir(p);
}

/* What the child reports back over the pipe. */
struct tty_result {
	int r;
	int from;
	int echo_restored;
	size_t len;
	char pass[64];
	char msg[256];
};

static void
tty_child(const char *slave, int report)
{
	struct passphrase_src src = { NULL, -1, NULL, "acme-sa.json.enc" };
	struct tty_result res;
	struct secbuf *pw = NULL;
	struct termios t;
	struct errbuf e = { "" };
	int fd, warn;

	memset(&res, 0, sizeof(res));
	alarm(20);
	unsetenv("CREDENTIALS_DIRECTORY");
	fd = test_pty_become_ctty(slave);
	res.r = passphrase_get(&src, &pw, &res.from, &warn, &e);
	if (res.r == 0) {
		res.len = secbuf_len(pw);
		snprintf(res.pass, sizeof(res.pass), "%s",
		    (char *)secbuf_data(pw));
	}
	snprintf(res.msg, sizeof(res.msg), "%s", e.msg);
	secbuf_free(pw);
	/* The terminal is given back as it was: echo on again. */
	res.echo_restored = tcgetattr(fd, &t) == 0 && (t.c_lflag & ECHO);
	if (write(report, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(2);
	close(fd);
	_exit(0);
}

static void
test_tty_prompt(void)
{
	struct tty_result res;
	char slave[128], out[4096];
	size_t len = 0;
	int m, rep[2];
	pid_t pid;

	m = test_pty_open(slave, sizeof(slave));
	ASSERT_INT_EQ(pipe2(rep, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(m);
		close(rep[0]);
		tty_child(slave, rep[1]);
	}
	ASSERT_INT_GT(pid, 0);
	close(rep[1]);
	/* Type only once the prompt is up: the prompt comes after echo is
	 * switched off (and TCSAFLUSH would discard earlier typing). */
	if (!test_pty_read_until(m, out, sizeof(out), &len,
	    "Passphrase for acme-sa.json.enc: ", 10000)) {
		kill(pid, SIGKILL);
		test_wait(pid);
		TEST_FAIL("no prompt on the terminal; got \"%s\"", out);
	}
	ASSERT_INT_EQ(write(m, "ttypass\n", 8), 8);
	/* Everything the terminal shows until the child lets it go. */
	test_pty_read_until(m, out, sizeof(out), &len, NULL, 10000);
	ASSERT_INT_EQ(read(rep[0], &res, sizeof(res)), (int)sizeof(res));
	close(rep[0]);
	ASSERT_INT_EQ(test_wait(pid), 0);
	close(m);

	if (res.r != 0)
		TEST_FAIL("passphrase_get on a tty: %d: %s", res.r, res.msg);
	ASSERT_INT_EQ(res.from, PASSPHRASE_FROM_TTY);
	ASSERT_SIZE_T_EQ(res.len, 7);
	ASSERT_STR_EQ(res.pass, "ttypass");
	/* Echo was off: what was typed never came back on the screen. */
	ASSERT_STR_CONTAINS(out, "Passphrase for acme-sa.json.enc: ");
	ASSERT_STR_NOT_CONTAINS(out, "ttypass");
	ASSERT_STR_NOT_CONTAINS(out, "ttyp");
	ASSERT_INT_EQ(res.echo_restored, 1);
}

static void
test_tty_empty_line(void)
{
	struct tty_result res;
	char slave[128], out[4096];
	size_t len = 0;
	int m, rep[2];
	pid_t pid;

	/* Enter alone is "no passphrase", not an empty passphrase. */
	m = test_pty_open(slave, sizeof(slave));
	ASSERT_INT_EQ(pipe2(rep, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(m);
		close(rep[0]);
		tty_child(slave, rep[1]);
	}
	close(rep[1]);
	if (!test_pty_read_until(m, out, sizeof(out), &len, ": ", 10000)) {
		kill(pid, SIGKILL);
		test_wait(pid);
		TEST_FAIL("no prompt on the terminal");
	}
	ASSERT_INT_EQ(write(m, "\n", 1), 1);
	test_pty_read_until(m, out, sizeof(out), &len, NULL, 10000);
	ASSERT_INT_EQ(read(rep[0], &res, sizeof(res)), (int)sizeof(res));
	close(rep[0]);
	ASSERT_INT_EQ(test_wait(pid), 0);
	close(m);
	ASSERT_INT_EQ(res.r, SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(res.msg, "empty");
	ASSERT_INT_EQ(res.echo_restored, 1);
}

static void
tty_signal_case(int sig)
{
	char slave[128], out[4096];
	struct termios t;
	size_t len = 0;
	int m, keep, st = -1, waited;
	pid_t pid;

	/* A signal at the prompt (Ctrl-C, systemd stopping the unit) ends
	 * the wait, takes the process down as that signal would, and gives
	 * the terminal back with echo on. The parent keeps the slave open
	 * to look at its settings afterwards. */
	m = test_pty_open(slave, sizeof(slave));
	ASSERT_INT_GE(keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		struct passphrase_src src = { NULL, -1, NULL, "sig.enc" };
		struct secbuf *pw = NULL;
		struct errbuf e;
		int from, warn;

		close(m);
		close(keep);
		alarm(20);
		unsetenv("CREDENTIALS_DIRECTORY");
		test_pty_become_ctty(slave);
		passphrase_get(&src, &pw, &from, &warn, &e);
		secbuf_free(pw);
		_exit(3);	/* must not get here */
	}
	ASSERT_INT_GT(pid, 0);
	if (!test_pty_read_until(m, out, sizeof(out), &len, "sig.enc: ",
	    10000)) {
		kill(pid, SIGKILL);
		test_wait(pid);
		TEST_FAIL("no prompt on the terminal");
	}
	ASSERT_INT_EQ(tcgetattr(keep, &t), 0);
	ASSERT_INT_EQ(t.c_lflag & ECHO, 0);	/* echo off while asking */
	/*
	 * Let the child reach its read(2) first. A signal that lands
	 * between the prompt's write and that read is only noticed once a
	 * line is typed (the handler sets a flag that nothing checks until
	 * read returns); that narrower race is a bug of its own, reported
	 * apart, and would make this test flaky.
	 */
	usleep(300000);
	ASSERT_INT_EQ(kill(pid, sig), 0);
	for (waited = 0; waited < 100; waited++) {
		int wst;
		pid_t w = waitpid(pid, &wst, WNOHANG);

		if (w == pid) {
			st = WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) :
			    WEXITSTATUS(wst);
			break;
		}
		usleep(100000);
	}
	if (st == -1) {
		kill(pid, SIGKILL);
		test_wait(pid);
		close(keep);
		close(m);
		TEST_FAIL("signal %d at the prompt did not end the wait", sig);
	}
	ASSERT_INT_EQ(tcgetattr(keep, &t), 0);
	close(keep);
	close(m);
	ASSERT_INT_EQ(st, 128 + sig);
	ASSERT_INT_NE(t.c_lflag & ECHO, 0);
}

static void
test_tty_signal_restores(void)
{
	tty_signal_case(SIGTERM);
	tty_signal_case(SIGINT);
}

int
main(void)
{
	test_init();
	unsetenv("CREDENTIALS_DIRECTORY");
	dir = test_tmpdir_new();
	TEST(test_first_line);
	TEST(test_passfile);
	TEST(test_passfile_perms);
	TEST(test_passfile_fifo);
	TEST(test_passfd);
	TEST(test_extpass);
	TEST(test_credentials_directory);
	TEST(test_no_source_no_tty);
	TEST(test_tty_prompt);
	TEST(test_tty_empty_line);
	TEST(test_tty_signal_restores);
	test_tmpdir_free(dir);
	return test_done();
}
