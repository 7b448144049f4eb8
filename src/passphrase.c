/* SPDX-License-Identifier: MIT */
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* Room for the cap, a "\r\n" and one byte that tells "too long". */
#define LINE_BUF (PASSPHRASE_MAX + 3)

/* Set by a signal during the tty prompt (0 otherwise). */
static volatile sig_atomic_t tty_signal;

long
passphrase_first_line(const unsigned char *buf, size_t n, size_t max)
{
	const unsigned char *nl = memchr(buf, '\n', n);
	size_t len = nl != NULL ? (size_t)(nl - buf) : n;

	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > max)
		return -1;
	return (long)len;
}

/*
 * Read from fd into buf until a newline, EOF or cap. With bytewise, one
 * byte per read(2), so nothing past the first line is consumed from a
 * shared descriptor. Plain read(2), no stdio: no copy in a FILE buffer.
 */
static ssize_t
read_line(int fd, unsigned char *buf, size_t cap, int bytewise)
{
	size_t len = 0;
	ssize_t n;

	while (len < cap) {
		n = read(fd, buf + len, bytewise ? 1 : cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n) != NULL)
			break;
	}
	return (ssize_t)len;
}

/* Turn the raw bytes read from a source into the passphrase. */
static int
finish(struct secbuf *raw, size_t n, const char *what, struct secbuf **outp,
    struct errbuf *e)
{
	long len = passphrase_first_line(secbuf_data(raw), n, PASSPHRASE_MAX);

	if (len < 0)
		return err_set(e, SAFS_ERR_NOPASS,
		    "passphrase from %s is longer than %d bytes", what,
		    PASSPHRASE_MAX);
	if (len == 0)
		return err_set(e, SAFS_ERR_NOPASS,
		    "passphrase from %s is empty", what);
	secbuf_truncate(raw, (size_t)len);
	secbuf_data(raw)[len] = '\0';
	*outp = raw;
	return 0;
}

static int
from_fd(int fd, int bytewise, const char *what, struct secbuf **outp,
    struct errbuf *e)
{
	struct secbuf *raw;
	ssize_t n;
	int r;

	if ((raw = secbuf_new(LINE_BUF)) == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of secure memory");
	if ((n = read_line(fd, secbuf_data(raw), LINE_BUF, bytewise)) < 0) {
		r = err_set(e, SAFS_ERR_NOPASS, "cannot read passphrase "
		    "from %s: %s", what, strerror(errno));
		secbuf_free(raw);
		return r;
	}
	if ((r = finish(raw, (size_t)n, what, outp, e)) != 0)
		secbuf_free(raw);
	return r;
}

static int
from_file(const char *path, int check_perms, struct secbuf **outp,
    int *warnp, struct errbuf *e)
{
	struct stat st;
	int fd, r;

	/*
	 * No O_NOFOLLOW: Kubernetes Secret volumes and systemd credentials
	 * hand out symlinks; what matters is the file they lead to, which
	 * fstat checks.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1)
		return err_set(e, SAFS_ERR_NOPASS,
		    "cannot open passfile %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, SAFS_ERR_NOPASS,
		    "passfile %s is not a file", path);
	}
	if (check_perms && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		*warnp |= PASSPHRASE_WARN_PERMS;
	/* A FIFO opened O_NONBLOCK would read EOF before a writer came. */
	if (!S_ISREG(st.st_mode))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	r = from_fd(fd, 0, path, outp, e);
	close(fd);
	return r;
}

/* Split on spaces, no shell: "prog arg1 arg2". */
static char **
split_args(char *s)
{
	size_t n = 0, cap = 4;
	char **argv = calloc(cap, sizeof(*argv)), **tmp, *tok, *save = NULL;

	if (argv == NULL)
		return NULL;
	for (tok = strtok_r(s, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n + 2 > cap) {
			cap *= 2;
			if ((tmp = reallocarray(argv, cap, sizeof(*argv))) ==
			    NULL) {
				free(argv);
				return NULL;
			}
			argv = tmp;
		}
		argv[n++] = tok;
	}
	argv[n] = NULL;
	return argv;
}

/* The extpass program running now, for passphrase_cancel(); cleared
 * under the lock before it is reaped, so its pid cannot be reused while
 * set. */
static pthread_mutex_t extpass_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t extpass_pid;

void
passphrase_cancel(void)
{
	pthread_mutex_lock(&extpass_lock);
	if (extpass_pid > 0)
		kill(extpass_pid, SIGKILL);
	pthread_mutex_unlock(&extpass_lock);
}

static void
reap(pid_t pid, int *status)
{
	siginfo_t si;

	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1 &&
	    errno == EINTR)
		;
	pthread_mutex_lock(&extpass_lock);
	extpass_pid = 0;
	pthread_mutex_unlock(&extpass_lock);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
}

static int
from_extpass(const char *cmd, struct secbuf **outp, struct errbuf *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *copy = NULL, **argv = NULL;
	int pfd[2] = { -1, -1 }, status = 0, r = SAFS_ERR_INTERNAL;
	int have_fa = 0, have_attr = 0;
	pid_t pid = -1;

	if ((copy = strdup(cmd)) == NULL || (argv = split_args(copy)) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (argv[0] == NULL) {
		r = err_set(e, SAFS_ERR_USAGE, "extpass= names no program");
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1 ||
	    posix_spawn_file_actions_init(&fa) != 0) {
		r = err_set(e, SAFS_ERR_SYSTEM, "extpass: %s",
		    strerror(errno));
		goto out;
	}
	have_fa = 1;
	if (posix_spawnattr_init(&attr) != 0) {
		r = err_set(e, SAFS_ERR_SYSTEM, "extpass: %s",
		    strerror(errno));
		goto out;
	}
	have_attr = 1;
	/*
	 * The program starts clean, whichever thread runs it: no blocked
	 * signals (a reload runs in a thread that blocks them all), default
	 * dispositions (safs ignores SIGPIPE), and no descriptor of ours
	 * but its stdout (libfuse leaves some without O_CLOEXEC).
	 */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	if ((errno = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1)) != 0 ||
	    (errno = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0) {
		r = err_set(e, SAFS_ERR_SYSTEM, "extpass: %s",
		    strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&extpass_lock);
	errno = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	if (errno == 0)
		extpass_pid = pid;
	pthread_mutex_unlock(&extpass_lock);
	if (errno != 0) {
		pid = -1;
		r = err_set(e, SAFS_ERR_NOPASS, "extpass: cannot run %s: %s",
		    argv[0], strerror(errno));
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	r = from_fd(pfd[0], 0, "extpass program", outp, e);
	close(pfd[0]);
	pfd[0] = -1;
	reap(pid, &status);
	pid = -1;
	/* Closing our end after the first line may kill it with SIGPIPE. */
	/* A failed program is reported as such, whatever it printed. */
	if (r != SAFS_ERR_NOMEM &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
	    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)) {
		secbuf_free(*outp);
		*outp = NULL;
		if (WIFEXITED(status))
			r = err_set(e, SAFS_ERR_NOPASS,
			    "extpass program %s exited with status %d",
			    argv[0], WEXITSTATUS(status));
		else
			r = err_set(e, SAFS_ERR_NOPASS,
			    "extpass program %s was killed by signal %d",
			    argv[0], WTERMSIG(status));
	}
 out:
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (have_attr)
		posix_spawnattr_destroy(&attr);
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (pid > 0)
		reap(pid, &status);
	free(argv);
	free(copy);
	return r;
}

static void
tty_handler(int sig)
{
	tty_signal = sig;
}

/*
 * The prompt's read loop. The signals are blocked except inside ppoll(),
 * which unblocks them atomically: one arriving at any moment ends the
 * wait (none can slip in between a check and a blocking read).
 */
static ssize_t
tty_read_line(int fd, unsigned char *buf, size_t cap, const sigset_t *wait)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < cap && tty_signal == 0) {
		if (ppoll(&p, 1, NULL, wait) == -1) {
			if (errno == EINTR)
				continue;	/* tty_signal tells */
			return -1;
		}
		if ((n = read(fd, buf + len, 1)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (buf[len++] == '\n')
			break;
	}
	return (ssize_t)len;
}

static int
from_tty(const char *what, struct secbuf **outp, struct errbuf *e)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
		SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction sa, old[sizeof(sigs) / sizeof(*sigs)];
	sigset_t block, oldmask, waitmask;
	struct termios saved, t;
	struct secbuf *raw = NULL;
	char prompt[512];
	ssize_t n = -1;
	size_t i;
	int fd, r, err = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return err_set(e, SAFS_ERR_NOPASS, "no passphrase source: "
		    "give -o passfile=, passfd= or extpass=, or run safs on "
		    "a terminal");
	if (tcgetattr(fd, &saved) == -1) {
		close(fd);
		return err_set(e, SAFS_ERR_NOPASS, "cannot prompt for the "
		    "passphrase: /dev/tty: %s", strerror(errno));
	}
	if ((raw = secbuf_new(LINE_BUF)) == NULL) {
		close(fd);
		return err_set(e, SAFS_ERR_NOMEM, "out of secure memory");
	}
	/* Restore the terminal before any signal takes us down. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_handler;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	tty_signal = 0;
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, &old[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	waitmask = oldmask;
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigdelset(&waitmask, sigs[i]);
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	t.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &t) == 0) {
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
		if (write(fd, prompt, strlen(prompt)) < 0)
			err = errno;
		else if ((n = tty_read_line(fd, secbuf_data(raw), LINE_BUF,
		    &waitmask)) < 0)
			err = errno;
		tcsetattr(fd, TCSAFLUSH, &saved);
	} else {
		err = errno;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(fd);
	if (tty_signal != 0) {
		secbuf_free(raw);
		raise(tty_signal);
		return err_set(e, SAFS_ERR_NOPASS, "interrupted");
	}
	if (err != 0 || n < 0) {
		secbuf_free(raw);
		return err_set(e, SAFS_ERR_NOPASS, "cannot read the "
		    "passphrase from /dev/tty: %s", strerror(err));
	}
	if ((r = finish(raw, (size_t)n, "the terminal", outp, e)) != 0)
		secbuf_free(raw);
	return r;
}

int
passphrase_get(const struct passphrase_src *src, struct secbuf **outp,
    int *fromp, int *warnp, struct errbuf *e)
{
	const char *dir;
	char path[4096];
	char what[32];
	int from = PASSPHRASE_FROM_NONE, warn = 0, r;

	*outp = NULL;
	if (src->file != NULL) {
		from = PASSPHRASE_FROM_FILE;
		r = from_file(src->file, 1, outp, &warn, e);
	} else if (src->fd >= 0) {
		from = PASSPHRASE_FROM_FD;
		snprintf(what, sizeof(what), "passfd=%d", src->fd);
		r = from_fd(src->fd, 1, what, outp, e);
		close(src->fd);
	} else if (src->extpass != NULL) {
		from = PASSPHRASE_FROM_EXTPASS;
		r = from_extpass(src->extpass, outp, e);
	} else if ((dir = getenv("CREDENTIALS_DIRECTORY")) != NULL &&
	    *dir != '\0' &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    PASSPHRASE_CRED_NAME) < sizeof(path) &&
	    access(path, F_OK) == 0) {
		from = PASSPHRASE_FROM_CREDENTIALS;
		r = from_file(path, 0, outp, &warn, e);
	} else {
		from = PASSPHRASE_FROM_TTY;
		r = from_tty(src->what != NULL ? src->what : "safs", outp, e);
	}
	if (fromp != NULL)
		*fromp = from;
	if (warnp != NULL)
		*warnp = warn;
	return r;
}
