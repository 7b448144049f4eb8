/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "passphrase.h"
#include "util.h"

#define RETRY_MS 1000		/* after a failed mint */
#define DEBOUNCE_MS 200		/* let a writer finish before a reload */

struct daemon {
	struct fs *fs;
	struct fuse_session *se;
	pthread_t loop_thread;		/* runs fuse_session_loop() */
	volatile sig_atomic_t loop_done;
	const struct safs_opts *opts;
	char *source;
	char *source_dir, *source_base;

	/* worker thread only */
	struct creds *creds;
	time_t *iats;
	int64_t retry_ms;	/* after a failed mint, else 0 */
	int tfd, sfd, ifd, efd, rfd;

	pthread_t worker, reloader;
	int have_worker, have_reloader;

	/* shared with the reloader, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int reload_wanted, reload_debounce, stopping;
	struct creds *pending;
	int pending_set;	/* a result waits in pending/_r/_err */
	int pending_r;
	struct errbuf pending_err;
	int pass_from;		/* where the mount's passphrase came from */
};

void
daemon_check_clock(void)
{
	static int warned;
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	if (!warned && adjtimex(&tx) != -1 && (tx.status & STA_UNSYNC)) {
		warned = 1;
		log_warn("the system clock is not synchronised (adjtimex "
		    "STA_UNSYNC): token iat/exp are only as right as it is");
	}
}

int
daemon_mint_all(const struct creds *c, struct secbuf **tokens, time_t *iats,
    int64_t *refresh_ms)
{
	size_t i, n = c->config.nprofiles;
	time_t now = time(NULL);
	int r = 0;

	for (i = 0; i < n; i++)
		tokens[i] = NULL;
	for (i = 0; i < n && r == 0; i++) {
		r = minter_mint(c->minters[i], now, &tokens[i]);
		iats[i] = now;
		refresh_ms[i] = minter_refresh_at(c->minters[i], now);
	}
	if (r != 0)
		for (i = 0; i < n; i++) {
			secbuf_free(tokens[i]);
			tokens[i] = NULL;
		}
	return r;
}

/* Re-mint every token whose refresh point has passed (or whose iat the
 * clock has gone back behind). Signing runs here, never under fs->lock. */
static void
refresh_due(struct daemon *d)
{
	struct creds *c = d->creds;
	int64_t now = util_now_ms();
	struct secbuf *tok;
	time_t iat;
	int r;

	if (d->retry_ms != 0 && now < d->retry_ms)
		return;
	d->retry_ms = 0;
	for (size_t i = 0; i < c->config.nprofiles; i++) {
		if (!minter_due(c->minters[i], d->iats[i], now))
			continue;
		iat = (time_t)(now / 1000);
		if ((r = minter_mint(c->minters[i], iat, &tok)) != 0) {
			log_error("minting token %s: %s",
			    minter_name(c->minters[i]), safs_strerror(r));
			d->retry_ms = now + RETRY_MS;
			continue;
		}
		if (fs_publish_token(d->fs, i, tok, iat,
		    minter_refresh_at(c->minters[i], iat)) != 0) {
			log_error("publishing token %s: out of memory",
			    minter_name(c->minters[i]));
			d->retry_ms = now + RETRY_MS;
			continue;
		}
		d->iats[i] = iat;
		log_debug("token %s rotated, iat=%lld",
		    minter_name(c->minters[i]), (long long)iat);
		daemon_check_clock();
	}
}

static void
arm_timer(struct daemon *d)
{
	struct itimerspec its;
	struct creds *c = d->creds;
	int64_t at = INT64_MAX, t;

	for (size_t i = 0; i < c->config.nprofiles; i++)
		if ((t = minter_refresh_at(c->minters[i], d->iats[i])) < at)
			at = t;
	/* After a failed mint the due token's refresh point is past: wait
	 * for the retry, do not spin on it. */
	if (d->retry_ms != 0 && at < d->retry_ms)
		at = d->retry_ms;
	memset(&its, 0, sizeof(its));
	if (at == INT64_MAX) {
		/* No tokens: still ask to hear of clock changes, far out. */
		at = util_now_ms() + 86400LL * 1000;
	}
	if (at <= 0)
		at = 1;
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	/*
	 * Absolute CLOCK_REALTIME: fires on time across suspend, and
	 * CANCEL_ON_SET wakes us at once when the clock is stepped.
	 */
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	    &its, NULL) == -1)
		log_error("timerfd_settime: %s", strerror(errno));
}

static void
request_reload(struct daemon *d, int debounce)
{
	pthread_mutex_lock(&d->mu);
	d->reload_wanted = 1;
	d->reload_debounce |= debounce;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void
apply_reload(struct daemon *d)
{
	struct creds *nc;
	struct secbuf **tokens = NULL;
	int64_t *refresh = NULL;
	time_t *iats = NULL;
	struct errbuf e;
	size_t n;
	int r;

	pthread_mutex_lock(&d->mu);
	if (!d->pending_set) {
		/* Its eventfd write came after we took it with an earlier
		 * one: nothing waits. */
		pthread_mutex_unlock(&d->mu);
		return;
	}
	nc = d->pending;
	r = d->pending_r;
	e = d->pending_err;
	d->pending = NULL;
	d->pending_set = 0;
	pthread_mutex_unlock(&d->mu);
	if (r != 0) {
		log_error("reload of %s failed, still serving the previous "
		    "credentials: %s", d->source, err_msg(&e, r));
		notify_send("READY=1\nSTATUS=reload failed; serving the "
		    "previous credentials");
		return;
	}
	n = nc->config.nprofiles;
	if ((tokens = calloc(n + 1, sizeof(*tokens))) == NULL ||
	    (iats = calloc(n + 1, sizeof(*iats))) == NULL ||
	    (refresh = calloc(n + 1, sizeof(*refresh))) == NULL) {
		r = SAFS_ERR_NOMEM;
	} else if ((r = daemon_mint_all(nc, tokens, iats, refresh)) == 0) {
		r = fs_populate(d->fs, nc, tokens, iats, refresh);
	}
	if (r != 0) {
		log_error("reload of %s failed, still serving the previous "
		    "credentials: %s", d->source, safs_strerror(r));
		creds_free(nc);
		free(iats);
	} else {
		creds_free(d->creds);
		d->creds = nc;
		free(d->iats);
		d->iats = iats;
		d->retry_ms = 0;
		log_info("reloaded %s: %zu entries, %zu token profiles",
		    d->source, account_nentries(nc->account), n);
		if (nc->pass_warn & PASSPHRASE_WARN_PERMS)
			log_warn("passfile %s is readable by group or others",
			    d->opts->passfile);
		notify_send("READY=1\nSTATUS=reloaded");
	}
	free(tokens);
	free(refresh);
}

static void
handle_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;

	while ((n = read(d->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;
		     p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			/* The file itself, or a Kubernetes ..data swap; on
			 * a queue overflow we cannot know, so reload. */
			if ((ev->mask & IN_Q_OVERFLOW) || (ev->len > 0 &&
			    (strcmp(ev->name, d->source_base) == 0 ||
			    strcmp(ev->name, "..data") == 0)))
				request_reload(d, 1);
		}
	}
}

static void
wake_handler(int sig)
{
	(void)sig;
}

/*
 * SIGINT/SIGTERM are taken here, not by a handler in the loop thread, so
 * the loop ends only after this thread's last invalidation has returned:
 * an invalidation waits for the kernel's directory lock, which a pending
 * lookup holds until the loop answers it. The loop thread's read() is
 * interrupted with SIGUSR1, repeatedly, since a signal landing just
 * before it blocks would be lost.
 */
static void
end_loop(struct daemon *d)
{
	struct timespec ts = { 0, 20 * 1000000L };

	fuse_session_exit(d->se);
	while (!d->loop_done) {
		pthread_kill(d->loop_thread, SIGUSR1);
		nanosleep(&ts, NULL);
	}
}

static void *
worker_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd p[5];
	struct signalfd_siginfo si;
	uint64_t v;

	p[0] = (struct pollfd){ .fd = d->efd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = d->tfd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = d->sfd, .events = POLLIN };
	p[3] = (struct pollfd){ .fd = d->rfd, .events = POLLIN };
	p[4] = (struct pollfd){ .fd = d->ifd, .events = POLLIN };
	for (;;) {
		arm_timer(d);
		if (poll(p, d->ifd >= 0 ? 5 : 4, -1) == -1) {
			struct timespec ts = { 1, 0 };

			if (errno == EINTR)
				continue;
			/* Never stop rotating tokens or taking signals. */
			log_error("poll: %s", strerror(errno));
			nanosleep(&ts, NULL);
			continue;
		}
		if (p[0].revents)
			break;
		if (p[1].revents && read(d->tfd, &v, sizeof(v)) == -1 &&
		    errno == ECANCELED)
			log_info("the wall clock was set; checking token "
			    "lifetimes");
		if (p[2].revents && read(d->sfd, &si, sizeof(si)) ==
		    sizeof(si)) {
			if (si.ssi_signo != SIGHUP) {
				log_info("SIG%s received",
				    sigabbrev_np((int)si.ssi_signo));
				end_loop(d);
				break;
			}
			log_info("SIGHUP: reloading %s", d->source);
			request_reload(d, 0);
		}
		if (p[3].revents && read(d->rfd, &v, sizeof(v)) > 0)
			apply_reload(d);
		if (d->ifd >= 0 && p[4].revents)
			handle_inotify(d);
		refresh_due(d);
	}
	return NULL;
}

static void *
reloader_main(void *arg)
{
	struct daemon *d = arg;
	struct safs_opts o;
	struct creds *nc;
	struct errbuf e;
	uint64_t one = 1;
	int r, debounce;

	for (;;) {
		pthread_mutex_lock(&d->mu);
		while (!d->reload_wanted && !d->stopping)
			pthread_cond_wait(&d->cv, &d->mu);
		if (d->stopping) {
			pthread_mutex_unlock(&d->mu);
			break;
		}
		debounce = d->reload_debounce;
		d->reload_wanted = d->reload_debounce = 0;
		pthread_mutex_unlock(&d->mu);
		if (debounce) {
			struct timespec ts = { 0, DEBOUNCE_MS * 1000000L };

			nanosleep(&ts, NULL);
			pthread_mutex_lock(&d->mu);
			d->reload_wanted = d->reload_debounce = 0;
			debounce = d->stopping;
			pthread_mutex_unlock(&d->mu);
			if (debounce)
				break;
		}
		notify_send("RELOADING=1");
		memset(&e, 0, sizeof(e));
		nc = NULL;
		o = *d->opts;
		if (o.passfd >= 0) {
			/* Read and closed at mount; the number may be reused. */
			r = err_set(&e, SAFS_ERR_NOPASS, "passfd= is read "
			    "once, at mount; to reload, use passfile= or "
			    "extpass=");
		} else if (d->pass_from == PASSPHRASE_FROM_TTY) {
			/* A prompt from a background thread would take the
			 * terminal, and the signals, from the user. */
			r = err_set(&e, SAFS_ERR_NOPASS, "the passphrase was "
			    "typed at mount; to reload, use passfile= or "
			    "extpass=");
		} else {
			r = creds_load(&o, d->source, &nc, &e);
		}
		pthread_mutex_lock(&d->mu);
		creds_free(d->pending);
		d->pending = nc;
		d->pending_set = 1;
		d->pending_r = r;
		d->pending_err = e;
		if (d->stopping) {
			/* daemon_stop() gave up waiting for us. */
			creds_free(d->pending);
			d->pending = NULL;
		}
		pthread_mutex_unlock(&d->mu);
		if (write(d->rfd, &one, sizeof(one)) < 0)
			log_error("eventfd: %s", strerror(errno));
	}
	return NULL;
}

static int
watch_source(struct daemon *d)
{
	char *a = strdup(d->source), *b = strdup(d->source);

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return -1;
	}
	d->source_dir = strdup(dirname(a));
	d->source_base = strdup(basename(b));
	free(a);
	free(b);
	if (d->source_dir == NULL || d->source_base == NULL)
		return -1;
	if ((d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(d->ifd, d->source_dir, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE) == -1) {
		log_error("watch: cannot watch %s: %s", d->source_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
daemon_start(struct daemon **dp, struct fs *fs, struct fuse_session *se,
    struct creds *c, const time_t *iats, const struct safs_opts *o,
    const char *source)
{
	struct sigaction sa;
	struct daemon *d;
	sigset_t sigs, all, old;
	size_t n = c->config.nprofiles;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->iats = calloc(n + 1, sizeof(*d->iats))) == NULL ||
	    (d->source = strdup(source)) == NULL) {
		if (d != NULL)
			free(d->iats);
		free(d);
		creds_free(c);
		return SAFS_ERR_NOMEM;
	}
	d->fs = fs;
	d->se = se;
	d->pass_from = c->pass_from;
	d->loop_thread = pthread_self();
	d->opts = o;
	d->creds = c;
	memcpy(d->iats, iats, n * sizeof(*iats));
	d->tfd = d->sfd = d->ifd = d->efd = d->rfd = -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);

	/* SIGHUP, SIGINT, SIGTERM go to signalfd: blocked everywhere (the
	 * caller blocked them before mounting). SIGUSR1 only interrupts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;	/* no SA_RESTART: read() -> EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIG_IGN (nohup, a shell's background job) would make
	 * signalfd miss them: safs always unmounts on INT/TERM, reloads on
	 * HUP. */
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if ((d->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC |
	    TFD_NONBLOCK)) == -1 ||
	    (d->sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (d->rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (o->watch && watch_source(d) != 0))
		goto fail;

	/* Our threads take no signals: SIGUSR1 is for the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&d->worker, NULL, worker_main, d) == 0)
		d->have_worker = 1;
	if (pthread_create(&d->reloader, NULL, reloader_main, d) == 0)
		d->have_reloader = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!d->have_worker || !d->have_reloader)
		goto fail;
	*dp = d;
	return 0;
 fail:
	log_error("cannot start the daemon threads: %s", strerror(errno));
	daemon_stop(d);
	return SAFS_ERR_SYSTEM;
}

int
daemon_stop(struct daemon *d)
{
	struct timespec deadline;
	uint64_t one = 1;

	if (d == NULL)
		return 0;
	d->loop_done = 1;
	pthread_mutex_lock(&d->mu);
	d->stopping = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (d->efd >= 0 && write(d->efd, &one, sizeof(one)) < 0)
		log_error("eventfd: %s", strerror(errno));
	if (d->have_worker)
		pthread_join(d->worker, NULL);
	/* The worker is gone: the live credentials are ours to wipe. */
	creds_free(d->creds);
	d->creds = NULL;
	if (d->have_reloader) {
		/* A reload waiting on a passphrase program must not hold up
		 * the unmount: end the program, then wait a little. */
		passphrase_cancel();
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 5;
		if (pthread_timedjoin_np(d->reloader, NULL, &deadline) != 0) {
			pthread_mutex_lock(&d->mu);
			creds_free(d->pending);
			d->pending = NULL;
			pthread_mutex_unlock(&d->mu);
			log_warn("a reload is still running; not waiting for "
			    "it");
			return -1;	/* d stays: the thread still uses it */
		}
	}
	creds_free(d->pending);
	{
		int fds[] = { d->tfd, d->sfd, d->ifd, d->efd, d->rfd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d->iats);
	free(d->source);
	free(d->source_dir);
	free(d->source_base);
	free(d);
	return 0;
}
