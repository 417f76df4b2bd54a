/* listen.h - the FastCGI listening socket, opened once by the master.
 *
 * MEDRIN_LISTEN forms:
 *   /run/medrin/fcgi.sock  a unix socket path. A stale socket file (nobody accepting on it)
 *                          is unlinked first; a live one is refused. The socket is created
 *                          mode 0660 (group = the owner's group: put nginx in it), or 0666
 *                          when dev_mode (development/test stacks, where nginx may run as
 *                          another unprivileged user).
 *   127.0.0.1:9000         TCP, IPv4 or IPv6 ("[::1]:9000"; "*:9000" or ":9000" = any
 *                          address), SO_REUSEADDR, backlog 1024.
 *   systemd                socket activation: LISTEN_PID must be our pid and LISTEN_FDS >= 1;
 *                          fd 3 is used. LISTEN_* are removed from the environment.
 * The socket is non-blocking and close-on-exec: workers wait for it with ppoll() and a
 * losing accept() returns EAGAIN instead of blocking (see docs/internals/fcgi.md).
 */
#ifndef MEDRIN_LISTEN_H
#define MEDRIN_LISTEN_H

#include <sys/types.h>
#include <sys/un.h>
#include "base/err.h"

#define LISTEN_BACKLOG 1024

struct listen_sock {
	int fd;
	int from_systemd; /* owned by systemd: never unlinked */
	int is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix path we created */
	dev_t dev; /* identity of the socket file we created, so that */
	ino_t ino; /* listen_close never unlinks somebody else's */
};

/* listen_open opens spec (see above) into ls. Returns 0, ERR_INVALID (malformed spec,
 * no systemd socket), ERR_CONFLICT (the unix path is live or is not a socket) or
 * ERR_UNAVAILABLE (socket/bind/listen failed; the reason is logged). */
int listen_open(const char *spec, int dev_mode, struct listen_sock *ls) MUSTCHECK;

/* listen_stop_new makes new connections go elsewhere while the ones already in the
 * accept backlog stay there to be served (graceful stop): a unix socket file we created is
 * unlinked (a connect() by path fails at once, so nginx tries the next upstream); a TCP
 * socket gets a socket filter that drops new SYNs (the peer's SYN retransmit, about 1 s
 * later, meets the closed port and is refused). A socket from systemd is left alone:
 * systemd keeps it open and queues for the next start. Safe to call twice. */
void listen_stop_new(const struct listen_sock *ls);

/* listen_backlog_empty: 1 when no connection waits to be accepted. */
int listen_backlog_empty(const struct listen_sock *ls);

/* listen_close closes the socket and removes the unix socket file we created (if it is
 * still ours). Safe to call twice. */
void listen_close(struct listen_sock *ls);

#endif
