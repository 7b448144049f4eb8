/* SPDX-License-Identifier: MIT */
/* notify: the sd_notify datagram, spoken without libsystemd. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "test.h"

static char *dir;

/* Receive one datagram (waiting at most 5 s) into buf, NUL-terminated. */
static ssize_t
recv_one(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	ASSERT_INT_EQ(poll(&pfd, 1, 5000), 1);
	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	ASSERT_INT_GE(n, 0);
	buf[n] = '\0';
	return n;
}

static void
test_path_socket(void)
{
	struct sockaddr_un sa;
	char path[200], buf[256];
	int fd, fds = test_fd_count();

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ASSERT_INT_LT(snprintf(path, sizeof(path), "%s/notify", dir),
	    (int)sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	ASSERT_INT_GE(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), 0);
	ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_INT_EQ(setenv("NOTIFY_SOCKET", path, 1), 0);

	ASSERT_INT_EQ(notify_send("READY=1"), 1);
	ASSERT_INT_EQ(recv_one(fd, buf, sizeof(buf)), 7);
	ASSERT_STR_EQ(buf, "READY=1");
	ASSERT_INT_EQ(notify_send("STATUS=serving 12 entries\nMAINPID=1"), 1);
	recv_one(fd, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "STATUS=serving 12 entries\nMAINPID=1");
	/* notify_send opens and closes its own socket each time. */
	ASSERT_INT_EQ(test_fd_count(), fds + 1);

	close(fd);
	/* Nobody listening any more: an error, not a crash. */
	ASSERT_INT_LT(notify_send("STOPPING=1"), 0);
	unlink(path);
	ASSERT_INT_EQ(notify_send("STOPPING=1"), -ENOENT);
	ASSERT_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
	ASSERT_INT_EQ(test_fd_count(), fds);
}

static void
test_abstract_socket(void)
{
	struct sockaddr_un sa;
	char name[64], env[80], buf[256];
	socklen_t len;
	int fd;

	/* "@name": the abstract namespace, sun_path[0] = '\0', no NUL at
	 * the end (the length counts the name only). */
	snprintf(name, sizeof(name), "safs-unit-notify-%ld", (long)getpid());
	snprintf(env, sizeof(env), "@%s", name);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(name));
	ASSERT_INT_GE(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), 0);
	ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sa, len), 0);
	ASSERT_INT_EQ(setenv("NOTIFY_SOCKET", env, 1), 0);
	ASSERT_INT_EQ(notify_send("READY=1"), 1);
	ASSERT_INT_EQ(recv_one(fd, buf, sizeof(buf)), 7);
	ASSERT_STR_EQ(buf, "READY=1");
	close(fd);
	ASSERT_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
}

static void
test_unset_and_invalid(void)
{
	char longp[200];

	ASSERT_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
	ASSERT_INT_EQ(notify_send("READY=1"), 0);
	ASSERT_INT_EQ(setenv("NOTIFY_SOCKET", "", 1), 0);
	ASSERT_INT_EQ(notify_send("READY=1"), 0);
	ASSERT_INT_EQ(setenv("NOTIFY_SOCKET", "relative/sock", 1), 0);
	ASSERT_INT_EQ(notify_send("READY=1"), -EINVAL);
	/* Longer than sun_path. */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	ASSERT_INT_EQ(setenv("NOTIFY_SOCKET", longp, 1), 0);
	ASSERT_INT_EQ(notify_send("READY=1"), -EINVAL);
	ASSERT_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
}

int
main(void)
{
	test_init();
	dir = test_tmpdir_new();
	TEST(test_path_socket);
	TEST(test_abstract_socket);
	TEST(test_unset_and_invalid);
	test_tmpdir_free(dir);
	return test_done();
}
