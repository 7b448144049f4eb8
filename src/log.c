/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int to_syslog;
static int debug_on;

void
log_init(int use_syslog, int debug)
{
	to_syslog = use_syslog;
	debug_on = debug;
	if (use_syslog)
		openlog("safs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_debug_enabled(void)
{
	return debug_on;
}

static const char *
level_name(int prio)
{
	switch (LOG_PRI(prio)) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

static void
emit(int prio, const char *raw)
{
	char line[1100];
	size_t i, o;
	int saved = errno;

	/* One write per line (threads log too), control bytes escaped. */
	o = (size_t)snprintf(line, sizeof(line), "safs: %s", level_name(prio));
	for (i = 0; raw[i] != '\0' && o + 5 < sizeof(line); i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    "\\x%02x", c);
		else
			line[o++] = (char)c;
	}
	if (to_syslog) {
		line[o] = '\0';
		syslog(prio, "%s", line + 6);
	} else {
		line[o++] = '\n';
		if (write(STDERR_FILENO, line, o) < 0) {
			/* nowhere left to report it */
		}
	}
	errno = saved;
}

void
log_msg(int prio, const char *fmt, ...)
{
	char raw[1024];
	va_list ap;

	if (LOG_PRI(prio) == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	emit(prio, raw);
}

void
log_debug_at(const char *func, const char *fmt, ...)
{
	char raw[1024];
	size_t n;
	va_list ap;

	if (!debug_on)
		return;
	n = (size_t)snprintf(raw, sizeof(raw), "%s: ", func);
	if (n >= sizeof(raw))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	va_end(ap);
	emit(LOG_DEBUG, raw);
}

#define ASYNC_SLOTS 128
#define ASYNC_LINE 512

struct aslot {
	int prio;
	char text[ASYNC_LINE];
};

static struct aslot *ring;
static unsigned long ahead, atail, adropped;
static pthread_mutex_t amu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acv = PTHREAD_COND_INITIALIZER;
static pthread_t athread;
static int arunning, astop;

static void *
async_main(void *arg)
{
	struct aslot s;
	unsigned long dropped;
	char msg[96];
	int have;

	(void)arg;
	pthread_mutex_lock(&amu);
	for (;;) {
		while (ahead == atail && adropped == 0 && !astop)
			pthread_cond_wait(&acv, &amu);
		if (ahead == atail && adropped == 0)
			break;	/* stopping, and all written */
		dropped = adropped;
		adropped = 0;
		if ((have = ahead != atail) != 0)
			s = ring[atail++ % ASYNC_SLOTS];
		pthread_mutex_unlock(&amu);
		/* The sink may block here; the request path never does. */
		if (dropped != 0) {
			snprintf(msg, sizeof(msg), "%lu audit lines dropped: "
			    "the log did not keep up", dropped);
			emit(LOG_WARNING, msg);
		}
		if (have)
			emit(s.prio, s.text);
		pthread_mutex_lock(&amu);
	}
	pthread_mutex_unlock(&amu);
	return NULL;
}

int
log_async_start(void)
{
	sigset_t all, old;
	int r;

	if (arunning)
		return 0;
	if ((ring = calloc(ASYNC_SLOTS, sizeof(*ring))) == NULL)
		return -1;
	astop = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&athread, NULL, async_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		free(ring);
		ring = NULL;
		return -1;
	}
	arunning = 1;
	return 0;
}

void
log_async_stop(void)
{
	if (!arunning)
		return;
	pthread_mutex_lock(&amu);
	astop = 1;
	pthread_cond_signal(&acv);
	pthread_mutex_unlock(&amu);
	pthread_join(athread, NULL);
	arunning = 0;
	free(ring);
	ring = NULL;
}

void
log_msg_async(int prio, const char *fmt, ...)
{
	char raw[ASYNC_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (!arunning) {
		emit(prio, raw);
		return;
	}
	pthread_mutex_lock(&amu);
	if (ahead - atail == ASYNC_SLOTS) {
		adropped++;
	} else {
		ring[ahead % ASYNC_SLOTS].prio = prio;
		memcpy(ring[ahead % ASYNC_SLOTS].text, raw, sizeof(raw));
		ahead++;
	}
	pthread_cond_signal(&acv);
	pthread_mutex_unlock(&amu);
}
