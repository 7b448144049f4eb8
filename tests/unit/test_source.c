/* SPDX-License-Identifier: MIT */
/* source: reading the source file with a size cap. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secmem.h"
#include "source.h"
#include "test.h"

static char *dir;

static void
test_regular_file(void)
{
	unsigned char data[300];
	struct secbuf *b = NULL;
	struct timespec mt = { 0, 0 }, times[2];
	struct errbuf e = { "" };
	struct stat st;
	char p[4096];
	int fds = test_fd_count();

	/* Binary content, NULs included: read exactly. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	TEST_PATH(p, dir, "src.bin");
	test_write_file(p, data, sizeof(data), 0600);
	/* A distinctive mtime, nanoseconds included. */
	times[0].tv_sec = 1500000000;
	times[0].tv_nsec = 123456789;
	times[1].tv_sec = 1600000000;
	times[1].tv_nsec = 987654321;
	ASSERT_INT_EQ(utimensat(AT_FDCWD, p, times, 0), 0);
	ASSERT_INT_EQ(stat(p, &st), 0);

	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, &mt, &e), 0);
	ASSERT_PTR_NE(b, NULL);
	ASSERT_SIZE_T_EQ(secbuf_len(b), sizeof(data));
	ASSERT_MEM_EQ(secbuf_data(b), data, sizeof(data));
	ASSERT_INT_EQ(secbuf_data(b)[sizeof(data)], 0);	/* NUL after */
	ASSERT_INT_EQ(mt.tv_sec, st.st_mtim.tv_sec);
	ASSERT_INT_EQ(mt.tv_nsec, st.st_mtim.tv_nsec);
	ASSERT_INT_EQ(mt.tv_sec, 1600000000);
	secbuf_free(b);

	/* mtime pointer may be NULL. */
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(b), sizeof(data));
	secbuf_free(b);
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_empty_and_cap(void)
{
	unsigned char *big;
	struct secbuf *b = (struct secbuf *)&b;
	struct errbuf e = { "" };
	char p[4096];
	int fds = test_fd_count();

	/* An empty file reads as zero bytes (the envelope rejects it). */
	TEST_PATH(p, dir, "empty");
	test_write_file(p, "", 0, 0600);
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 0);
	secbuf_free(b);

	/* Exactly the cap is fine; one byte more is TOO_LARGE. */
	big = malloc(SOURCE_MAX + 1);
	ASSERT_PTR_NE(big, NULL);
	memset(big, 'A', SOURCE_MAX + 1);
	TEST_PATH(p, dir, "atcap");
	test_write_file(p, big, SOURCE_MAX, 0600);
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e), 0);
	ASSERT_SIZE_T_EQ(secbuf_len(b), SOURCE_MAX);
	ASSERT_MEM_EQ(secbuf_data(b), big, SOURCE_MAX);
	secbuf_free(b);

	TEST_PATH(p, dir, "overcap");
	test_write_file(p, big, SOURCE_MAX + 1, 0600);
	b = (struct secbuf *)&b;
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_TOO_LARGE);
	ASSERT_PTR_EQ(b, NULL);
	ASSERT_STR_CONTAINS(e.msg, p);
	/* A smaller cap applies too. */
	ASSERT_INT_EQ(source_read(p, 10, &b, NULL, &e), SAFS_ERR_TOO_LARGE);
	TEST_PATH(p, dir, "atcap");
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX - 1, &b, NULL, &e),
	    SAFS_ERR_TOO_LARGE);
	free(big);
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_not_regular(void)
{
	struct secbuf *b = (struct secbuf *)&b;
	struct errbuf e = { "" };
	char p[4096];
	int fds = test_fd_count();

	/* A directory, named as such. */
	ASSERT_INT_EQ(source_read(dir, SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_SOURCE);
	ASSERT_PTR_EQ(b, NULL);
	ASSERT_STR_CONTAINS(e.msg, "directory");
	ASSERT_STR_CONTAINS(e.msg, dir);

	/* Missing: the path and the reason. */
	TEST_PATH(p, dir, "no-such-file");
	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_SOURCE);
	ASSERT_STR_CONTAINS(e.msg, p);
	ASSERT_STR_CONTAINS(e.msg, strerror(ENOENT));

	/* A character device. */
	memset(&e, 0, sizeof(e));
	ASSERT_INT_EQ(source_read("/dev/null", SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_SOURCE);
	ASSERT_STR_CONTAINS(e.msg, "not a regular file");
	ASSERT_INT_EQ(source_read("/dev/zero", SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_SOURCE);
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_fifo_does_not_hang(void)
{
	char p[4096];
	pid_t pid;
	int st;

	/*
	 * A FIFO is not a regular file either. Opening one for reading
	 * blocks until a writer comes, so run the read in a child with an
	 * alarm: hanging there would hang the mount (or --check) forever.
	 */
	TEST_PATH(p, dir, "fifo");
	ASSERT_INT_EQ(mkfifo(p, 0600), 0);
	if ((pid = fork()) == 0) {
		struct secbuf *b = NULL;
		struct errbuf e = { "" };
		int r;

		alarm(5);
		r = source_read(p, SOURCE_MAX, &b, NULL, &e);
		_exit(r == SAFS_ERR_SOURCE ? 0 : 1);
	}
	ASSERT_INT_GT(pid, 0);
	st = test_wait(pid);
	if (st == 128 + SIGALRM)
		TEST_FAIL("source_read on a FIFO blocked (no writer)");
	ASSERT_INT_EQ(st, 0);
}

static void
test_unreadable(void)
{
	struct secbuf *b = NULL;
	struct errbuf e = { "" };
	char p[4096];

	/* Root reads anything; only meaningful for an ordinary user. */
	if (geteuid() == 0)
		return;
	TEST_PATH(p, dir, "noperm");
	test_write_str(p, "{}", 0000);
	ASSERT_INT_EQ(source_read(p, SOURCE_MAX, &b, NULL, &e),
	    SAFS_ERR_SOURCE);
	ASSERT_STR_CONTAINS(e.msg, strerror(EACCES));
}

int
main(void)
{
	test_init();
	dir = test_tmpdir_new();
	TEST(test_regular_file);
	TEST(test_empty_and_cap);
	TEST(test_not_regular);
	TEST(test_fifo_does_not_hang);
	TEST(test_unreadable);
	test_tmpdir_free(dir);
	return test_done();
}
