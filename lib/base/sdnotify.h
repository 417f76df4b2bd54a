/* sdnotify.h - the systemd readiness protocol, without libsystemd.
 *
 * Sends one datagram to $NOTIFY_SOCKET (a filesystem path, or an abstract socket written
 * "@name"). When NOTIFY_SOCKET is unset (not started by systemd with Type=notify) every
 * call is a successful no-op.
 */
#ifndef MEDRIN_SDNOTIFY_H
#define MEDRIN_SDNOTIFY_H

#include "base/err.h"

/* sdnotify sends state, newline-separated "KEY=value" assignments ("READY=1\nMAINPID=42").
 * Returns 0 (sent, or nothing to do), ERR_INVALID (NOTIFY_SOCKET malformed or too long)
 * or ERR_UNAVAILABLE (the socket could not be created or the send failed). The caller
 * usually logs a failure and carries on: notification is advisory. */
int sdnotify(const char *state);

/* sdnotifyf formats state like printf (bounded to 512 bytes) and sends it. */
int sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
