/* SPDX-License-Identifier: MIT */
/* systemd's readiness protocol ($NOTIFY_SOCKET), spoken directly: one
 * datagram per state change, no libsystemd. */
#ifndef SAFS_NOTIFY_H
#define SAFS_NOTIFY_H

/*
 * Send state (e.g. "READY=1") to $NOTIFY_SOCKET (a path, or "@name" for
 * the abstract namespace). Returns 1 when sent, 0 when the variable is
 * unset, or -errno.
 */
int notify_send(const char *state);

#endif
