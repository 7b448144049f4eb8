/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test kit in the spirit of OpenSSH's regress/unittests:
 * ASSERT_* macros print file:line and the failing values; TEST(fn) runs
 * one test function and reports it; helpers run a command with
 * posix_spawn (never a shell), read and write files, make a private
 * temporary directory and remove it again, and drive a pseudo-terminal.
 *
 * A failing assertion ends its test (longjmp back to TEST, which counts
 * it and goes on with the next one); test_done() then makes the program
 * exit 1. Outside a test it exits 1 at once. In a forked child it leaves
 * with _exit(1), so the child never runs the parent's atexit clean-up
 * (which removes the temporary directories the parent made). A failed
 * test may leak what it had allocated; a passing one must not.
 */
#ifndef SAFS_TEST_H
#define SAFS_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define TEST_MAX_TMPDIRS 16

static const char *test_current __attribute__((unused)) = "(none)";
static pid_t test_main_pid __attribute__((unused));
static char *test_tmpdirs[TEST_MAX_TMPDIRS] __attribute__((unused));
static int test_ntests __attribute__((unused));
static int test_nfailed __attribute__((unused));
static int test_in_test __attribute__((unused));
static jmp_buf test_jmp __attribute__((unused));

static inline void
test_exit(int code)
{
	fflush(stdout);
	fflush(stderr);
	if (test_main_pid != 0 && getpid() != test_main_pid)
		_exit(code);
	exit(code);
}

static inline void
test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static inline void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: %s: FAIL: ", file, line, test_current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (test_in_test && getpid() == test_main_pid)
		longjmp(test_jmp, 1);
	test_exit(1);
	abort();
}

#define TEST_FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(x)							\
	do {								\
		if (!(x))						\
			TEST_FAIL("expected true: %s", #x);		\
	} while (0)
#define ASSERT_FALSE(x)							\
	do {								\
		if (x)							\
			TEST_FAIL("expected false: %s", #x);		\
	} while (0)

#define TEST_ASSERT_INT(a, op, b)					\
	do {								\
		long long test_a_ = (long long)(a);			\
		long long test_b_ = (long long)(b);			\
		if (!(test_a_ op test_b_))				\
			TEST_FAIL("%s %s %s: %lld vs %lld", #a, #op,	\
			    #b, test_a_, test_b_);			\
	} while (0)
#define ASSERT_INT_EQ(a, b) TEST_ASSERT_INT(a, ==, b)
#define ASSERT_INT_NE(a, b) TEST_ASSERT_INT(a, !=, b)
#define ASSERT_INT_LT(a, b) TEST_ASSERT_INT(a, <, b)
#define ASSERT_INT_LE(a, b) TEST_ASSERT_INT(a, <=, b)
#define ASSERT_INT_GT(a, b) TEST_ASSERT_INT(a, >, b)
#define ASSERT_INT_GE(a, b) TEST_ASSERT_INT(a, >=, b)

#define TEST_ASSERT_SIZE(a, op, b)					\
	do {								\
		size_t test_a_ = (size_t)(a), test_b_ = (size_t)(b);	\
		if (!(test_a_ op test_b_))				\
			TEST_FAIL("%s %s %s: %zu vs %zu", #a, #op, #b,	\
			    test_a_, test_b_);				\
	} while (0)
#define ASSERT_SIZE_T_EQ(a, b) TEST_ASSERT_SIZE(a, ==, b)
#define ASSERT_SIZE_T_NE(a, b) TEST_ASSERT_SIZE(a, !=, b)
#define ASSERT_SIZE_T_GT(a, b) TEST_ASSERT_SIZE(a, >, b)

#define ASSERT_PTR_EQ(a, b)						\
	do {								\
		const void *test_a_ = (a), *test_b_ = (b);		\
		if (test_a_ != test_b_)					\
			TEST_FAIL("%s == %s: %p vs %p", #a, #b,		\
			    test_a_, test_b_);				\
	} while (0)
#define ASSERT_PTR_NE(a, b)						\
	do {								\
		const void *test_a_ = (a), *test_b_ = (b);		\
		if (test_a_ == test_b_)					\
			TEST_FAIL("%s != %s: both %p", #a, #b,	\
			    test_a_);					\
	} while (0)

#define ASSERT_STR_EQ(a, b)						\
	do {								\
		const char *test_a_ = (a), *test_b_ = (b);		\
		if (test_a_ == NULL || test_b_ == NULL ||		\
		    strcmp(test_a_, test_b_) != 0)			\
			TEST_FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b,	\
			    test_a_ ? test_a_ : "(null)",		\
			    test_b_ ? test_b_ : "(null)");		\
	} while (0)
#define ASSERT_STR_NE(a, b)						\
	do {								\
		const char *test_a_ = (a), *test_b_ = (b);		\
		if (test_a_ == NULL || test_b_ == NULL ||		\
		    strcmp(test_a_, test_b_) == 0)			\
			TEST_FAIL("%s != %s: \"%s\" vs \"%s\"", #a, #b,	\
			    test_a_ ? test_a_ : "(null)",		\
			    test_b_ ? test_b_ : "(null)");		\
	} while (0)
/* haystack contains needle */
#define ASSERT_STR_CONTAINS(h, n)					\
	do {								\
		const char *test_h_ = (h), *test_n_ = (n);		\
		if (test_h_ == NULL ||					\
		    strstr(test_h_, test_n_) == NULL)			\
			TEST_FAIL("\"%s\" should contain \"%s\"",	\
			    test_h_ ? test_h_ : "(null)", test_n_);	\
	} while (0)
#define ASSERT_STR_NOT_CONTAINS(h, n)					\
	do {								\
		const char *test_h_ = (h), *test_n_ = (n);		\
		if (test_h_ != NULL &&					\
		    strstr(test_h_, test_n_) != NULL)			\
			TEST_FAIL("\"%s\" should not contain \"%s\"",	\
			    test_h_, test_n_);				\
	} while (0)

#define ASSERT_MEM_EQ(a, b, n)						\
	do {								\
		const void *test_a_ = (a), *test_b_ = (b);		\
		size_t test_n_ = (size_t)(n);				\
		if (test_a_ == NULL || test_b_ == NULL ||		\
		    memcmp(test_a_, test_b_, test_n_) != 0)		\
			test_mem_fail(__FILE__, __LINE__, #a, #b,	\
			    test_a_, test_b_, test_n_);			\
	} while (0)
#define ASSERT_MEM_NE(a, b, n)						\
	do {								\
		const void *test_a_ = (a), *test_b_ = (b);		\
		if (memcmp(test_a_, test_b_, (size_t)(n)) == 0)		\
			TEST_FAIL("%s and %s should differ", #a, #b);	\
	} while (0)
/* n bytes at p are all c */
#define ASSERT_MEM_FILLED(p, c, n)					\
	do {								\
		const unsigned char *test_p_ = (const void *)(p);	\
		for (size_t test_i_ = 0; test_i_ < (size_t)(n);		\
		     test_i_++)						\
			if (test_p_[test_i_] != (unsigned char)(c))	\
				TEST_FAIL("%s[%zu] is 0x%02x, not "	\
				    "0x%02x",				\
				    #p, test_i_, test_p_[test_i_],	\
				    (unsigned char)(c));		\
	} while (0)

static inline void
test_hexdump(const char *label, const void *p, size_t n)
{
	const unsigned char *b = p;

	fprintf(stderr, "  %s (%zu bytes):", label, n);
	for (size_t i = 0; i < n && i < 64; i++)
		fprintf(stderr, " %02x", b[i]);
	fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

static inline void
test_mem_fail(const char *file, int line, const char *an, const char *bn,
    const void *a, const void *b, size_t n)
{
	if (a != NULL && b != NULL) {
		size_t i = 0;

		while (i < n && ((const unsigned char *)a)[i] ==
		    ((const unsigned char *)b)[i])
			i++;
		fprintf(stderr, "%s:%d: %s: first difference at byte %zu\n",
		    file, line, test_current, i);
		test_hexdump(an, a, n);
		test_hexdump(bn, b, n);
	}
	test_fail(file, line, "%s == %s (%zu bytes)", an, bn, n);
}

static inline int
test_rmrf_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf path (not following symlinks); 0 or -1. */
static inline int
test_rmrf(const char *path)
{
	return nftw(path, test_rmrf_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove the temporary directories still registered (failure paths). */
static inline void
test_cleanup_tmpdirs(void)
{
	if (getpid() != test_main_pid)
		return;
	for (int i = 0; i < TEST_MAX_TMPDIRS; i++) {
		if (test_tmpdirs[i] != NULL) {
			test_rmrf(test_tmpdirs[i]);
			free(test_tmpdirs[i]);
			test_tmpdirs[i] = NULL;
		}
	}
}

static inline void
test_init(void)
{
	test_main_pid = getpid();
	atexit(test_cleanup_tmpdirs);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#define TEST(fn)							\
	do {								\
		test_current = #fn;					\
		test_ntests++;						\
		if (setjmp(test_jmp) == 0) {				\
			test_in_test = 1;				\
			fn();						\
			test_in_test = 0;				\
			printf("ok %d - %s\n", test_ntests, #fn);	\
		} else {						\
			test_in_test = 0;				\
			test_nfailed++;					\
			printf("not ok %d - %s\n", test_ntests, #fn);	\
		}							\
		test_current = "(none)";				\
	} while (0)

/* Skip the whole program (ctest's SKIP_RETURN_CODE) for a missing feature. */
#define TEST_SKIP_ALL(...)						\
	do {								\
		printf("skip: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		test_exit(77);						\
	} while (0)

static inline int
test_done(void)
{
	if (test_nfailed > 0) {
		printf("%d of %d tests FAILED\n", test_nfailed, test_ntests);
		return 1;
	}
	printf("all %d tests passed\n", test_ntests);
	return 0;
}

/* ---- files and directories ---- */

/*
 * A fresh mode-0700 directory under $SAFS_TEST_TMP (else /tmp), removed
 * by test_tmpdir_free() or, if a test fails first, at exit.
 */
static inline char *
test_tmpdir_new(void)
{
	const char *base = getenv("SAFS_TEST_TMP");
	char tmpl[PATH_MAX];
	char *dir;
	int i;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/safs-unit.XXXXXX",
	    base) >= sizeof(tmpl))
		TEST_FAIL("temp dir base too long: %s", base);
	if (mkdtemp(tmpl) == NULL)
		TEST_FAIL("mkdtemp %s: %s", tmpl, strerror(errno));
	if ((dir = strdup(tmpl)) == NULL)
		TEST_FAIL("out of memory");
	for (i = 0; i < TEST_MAX_TMPDIRS && test_tmpdirs[i] != NULL; i++)
		;
	if (i == TEST_MAX_TMPDIRS)
		TEST_FAIL("too many temp dirs");
	if ((test_tmpdirs[i] = strdup(tmpl)) == NULL)
		TEST_FAIL("out of memory");
	return dir;
}

static inline void
test_tmpdir_free(char *dir)
{
	if (dir == NULL)
		return;
	if (test_rmrf(dir) != 0)
		TEST_FAIL("rm -rf %s: %s", dir, strerror(errno));
	for (int i = 0; i < TEST_MAX_TMPDIRS; i++) {
		if (test_tmpdirs[i] != NULL &&
		    strcmp(test_tmpdirs[i], dir) == 0) {
			free(test_tmpdirs[i]);
			test_tmpdirs[i] = NULL;
		}
	}
	free(dir);
}

/* buf = dir "/" name */
#define TEST_PATH(buf, dir, name)					\
	do {								\
		if ((size_t)snprintf((buf), sizeof(buf), "%s/%s",	\
		    (dir), (name)) >= sizeof(buf))			\
			TEST_FAIL("path too long");			\
	} while (0)

/* snprintf into an array, failing the test on truncation. */
#define TEST_SNPRINTF(buf, ...)						\
	do {								\
		int test_n_ = snprintf((buf), sizeof(buf),		\
		    __VA_ARGS__);					\
		if (test_n_ < 0 || (size_t)test_n_ >= sizeof(buf))	\
			TEST_FAIL("snprintf: %s too small", #buf);	\
	} while (0)

static inline void
test_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		TEST_FAIL("create %s: %s", path, strerror(errno));
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		TEST_FAIL("write %s: %s", path, strerror(errno));
	if (fchmod(fd, mode) == -1 || close(fd) == -1)
		TEST_FAIL("close %s: %s", path, strerror(errno));
}

static inline void
test_write_str(const char *path, const char *s, mode_t mode)
{
	test_write_file(path, s, strlen(s), mode);
}

/* The whole file, NUL-terminated, malloc'd; *lenp (may be NULL) gets its
 * length. */
static inline unsigned char *
test_read_file(const char *path, size_t *lenp)
{
	unsigned char *buf = NULL, *tmp;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		TEST_FAIL("open %s: %s", path, strerror(errno));
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			if ((tmp = realloc(buf, cap)) == NULL)
				TEST_FAIL("out of memory");
			buf = tmp;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			TEST_FAIL("read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* Number of open file descriptors of this process. */
static inline int
test_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		TEST_FAIL("opendir /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* ---- running commands ---- */

/*
 * Run argv (argv[0] looked up in PATH) without a shell, stdin from
 * in_path, stdout to out_path, stderr to err_path (each NULL: inherit;
 * "/dev/null" works). Returns the exit status, 128 + signal when killed,
 * or -1 when it could not be started.
 */
static inline int
test_spawnv(char *const argv[], const char *in_path, const char *out_path,
    const char *err_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		TEST_FAIL("posix_spawn_file_actions_init");
	if (in_path != NULL)
		posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
	if (out_path != NULL)
		posix_spawn_file_actions_addopen(&fa, 1, out_path,
		    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (err_path != NULL)
		posix_spawn_file_actions_addopen(&fa, 2, err_path,
		    O_WRONLY | O_CREAT | O_APPEND, 0600);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			TEST_FAIL("waitpid: %s", strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

#define TEST_MAX_ARGS 64

/* test_spawnv with a NULL-terminated list of arguments. */
static inline int
test_spawn(const char *in_path, const char *out_path, const char *err_path,
    const char *arg0, ...)
{
	char *argv[TEST_MAX_ARGS];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)arg0;
	va_start(ap, arg0);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		if (++n == TEST_MAX_ARGS - 1)
			TEST_FAIL("too many arguments");
	va_end(ap);
	return test_spawnv(argv, in_path, out_path, err_path);
}

/* Run a command that must succeed (its stderr discarded). */
#define TEST_RUN_OK(out, ...)						\
	do {								\
		int test_rc_ = test_spawn(NULL, (out), "/dev/null",	\
		    __VA_ARGS__, (char *)NULL);				\
		if (test_rc_ != 0)					\
			TEST_FAIL("command failed (status %d): %s",	\
			    test_rc_, #__VA_ARGS__);			\
	} while (0)

/* Wait for child pid; its exit status, or 128 + signal. */
static inline int
test_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			TEST_FAIL("waitpid: %s", strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ---- pseudo-terminals (posix_openpt: no libutil needed) ---- */

/* A new pty: returns the master fd, the slave's path in slave. */
static inline int
test_pty_open(char *slave, size_t n)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m == -1)
		TEST_FAIL("posix_openpt: %s", strerror(errno));
	if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, slave, n) != 0)
		TEST_FAIL("grantpt/unlockpt/ptsname: %s", strerror(errno));
	return m;
}

/*
 * In a forked child: leave the parent's session and make the pty slave
 * the controlling terminal, so /dev/tty is that slave. Returns its fd.
 */
static inline int
test_pty_become_ctty(const char *slave)
{
	int fd;

	if (setsid() == -1)
		TEST_FAIL("setsid: %s", strerror(errno));
	/* Without O_NOCTTY, a session leader's first tty becomes its
	 * controlling terminal. */
	if ((fd = open(slave, O_RDWR)) == -1)
		TEST_FAIL("open %s: %s", slave, strerror(errno));
	return fd;
}

/*
 * Append what the master has to say to buf (NUL-terminated, *lenp bytes)
 * until it contains want (NULL: until EOF/EIO) or timeout_ms passes.
 * Returns 1 when want was seen (or EOF reached for NULL), 0 on timeout.
 */
static inline int
test_pty_read_until(int m, char *buf, size_t cap, size_t *lenp,
    const char *want, int timeout_ms)
{
	struct pollfd pfd = { .fd = m, .events = POLLIN };
	ssize_t n;

	for (;;) {
		buf[*lenp] = '\0';
		if (want != NULL && strstr(buf, want) != NULL)
			return 1;
		if (*lenp + 1 >= cap)
			return 0;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		n = read(m, buf + *lenp, cap - 1 - *lenp);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)	/* EIO: the slave side is gone */
			return want == NULL;
		*lenp += (size_t)n;
	}
}

#endif
