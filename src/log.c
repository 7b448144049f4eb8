/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
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
