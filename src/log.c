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

void
log_msg(int prio, const char *fmt, ...)
{
	char raw[1024], line[1100];
	size_t i, o;
	va_list ap;
	int saved = errno;

	if (LOG_PRI(prio) == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
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
