/* SPDX-License-Identifier: MIT */
/*
 * The one log sink: "safs: <level>: message" on stderr in the foreground,
 * syslog once daemonized. Control characters are escaped; callers log
 * names and lengths, never secret bytes.
 */
#ifndef SAFS_LOG_H
#define SAFS_LOG_H

#include <syslog.h>

void log_init(int use_syslog, int debug);
int log_debug_enabled(void);

void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
/* Debug lines carry the caller's function name. */
#define log_debug(...)							\
	do {								\
		if (log_debug_enabled())				\
			log_debug_at(__func__, __VA_ARGS__);		\
	} while (0)

void log_debug_at(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
