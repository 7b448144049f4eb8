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
/*
 * Lines logged from the FUSE request path (audit) must never wait on the
 * sink (a full stderr pipe, a busy syslog): log_msg_async() queues them in
 * a bounded ring drained by a thread of their own; when the ring is full
 * a line is dropped and counted, and the count is logged once the sink
 * catches up. Before log_async_start() (and after log_async_stop()) it
 * logs directly.
 */
int log_async_start(void);
void log_async_stop(void);
void log_msg_async(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Debug lines carry the caller's function name. */
#define log_debug(...)							\
	do {								\
		if (log_debug_enabled())				\
			log_debug_at(__func__, __VA_ARGS__);		\
	} while (0)

void log_debug_at(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
