/* worker.c - see worker.h and docs/internals/fcgi.md.
 *
 * Signals: SIGTERM stays blocked for the whole life of the worker except inside
 * epoll_pwait() (ppoll() if epoll is unavailable), where we wait for the listening socket
 * to become readable (EPOLLEXCLUSIVE: one idle worker is woken per connection). So SIGTERM can only
 * be delivered while no request is in flight and no connection has been accepted; its handler only
 * sets a flag that the loop checks when the wait returns. Nothing inside libfcgi (accept, the read
 * of the params, the response writes) is ever interrupted.
 *
 * Client timeout: libfcgi reads and writes its connection with plain blocking read() and
 * write(), without any bound, and it reads the BEGIN_REQUEST and PARAMS records inside
 * FCGX_Accept_r, right after its own accept(). So we accept ourselves, put
 * SO_RCVTIMEO / SO_SNDTIMEO (MEDRIN_CLIENT_TIMEOUT_SECONDS) on the connection and hand it
 * to libfcgi through the request's ipcFd (see accept_one). A peer that goes silent makes
 * a read fail with EAGAIN after the bound; libfcgi then closes the connection.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api/app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "http/http.h"
#include "http/problem.h"
#include "request.h"
#include "worker.h"

/* Past the body limit we still read (and discard) up to this much, so that nginx has
 * delivered its whole request when we answer 413 and closes cleanly. */
#define DRAIN_LIMIT (8L << 20)

static volatile sig_atomic_t stop_requested;

/* wait_requeue after this many connections (see there). */
#define REQUEUE_EVERY 16

struct worker {
	const struct config *cfg;
	int tcp; /* the listening socket is TCP: TCP_NODELAY on each connection */
	struct app app;
	struct arena *arena;
	FCGX_Request req;
	unsigned long served;
	unsigned long id_counter;
	pid_t pid;
};

/* Accepts one connection from the (non-blocking) listening socket and prepares w->req
 * so that the next FCGX_Accept_r reads from it instead of accepting:
 *  - FCGX_Accept_r accepts only when req.ipcFd < 0, so we set ipcFd to our connection;
 *  - it first calls FCGX_Finish_r, which closes ipcFd unless keepConnection is set, so
 *    we set keepConnection (libfcgi overwrites it from the BEGIN_REQUEST flags);
 *  - req.listen_sock is -1 (FCGX_InitRequest in worker_run): when libfcgi gives up on
 *    our connection (timeout, protocol error) it closes it and tries to accept again,
 *    accept(-1) fails with EBADF at once and FCGX_Accept_r returns an error to us, so a
 *    connection that libfcgi would read without a bound is never accepted.
 * These fields are under "Don't use anything below here" in fcgiapp.h; their meaning
 * has been the same in libfcgi 2.4.0 to 2.4.7 (docs/internals/fcgi.md).
 * Returns 1 with a connection, 0 when there was none (another worker won), -1 on an
 * error worth stopping for. */
static int accept_one(struct worker *w, int listen_fd)
{
	struct timeval tv;
	int one = 1;
	int fd;

	do {
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case ECONNABORTED:
		case EPROTO:
		case EPERM:       /* firewall rules (Linux documents it for accept) */
		case ENETDOWN:    /* the rest: network errors Linux passes on from */
		case ENOPROTOOPT: /* the new socket, "treat them like EAGAIN" (accept(2)) */
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case EOPNOTSUPP:
		case ENETUNREACH: return 0;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM: log_warn("worker: accept: %s; retrying", strerror(errno)); return 0;
		default: return -1;
		}
	}
	tv.tv_sec = w->cfg->client_timeout_s > 0 ? w->cfg->client_timeout_s : 30;
	tv.tv_usec = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		log_error("worker: cannot bound the FastCGI connection's reads (%s); dropping it",
		          strerror(errno));
		close(fd);
		return 0;
	}
	/* What libfcgi's own accept does for TCP: no replies to wait for, so no Nagle. (Not
	 * on a unix socket, where it could only fail: one syscall per request saved.) */
	if (w->tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	w->req.ipcFd = fd;
	w->req.keepConnection = 1;
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_sigterm(int sig)
{
	(void)sig;
	stop_requested = 1;
	FCGX_ShutdownPending();
}

static const char *getparam(void *ctx, const char *name)
{
	FCGX_Request *req = ctx;

	return FCGX_GetParam(name, req->envp);
}

/* Not a secret, only unique enough to correlate log lines: pid and a counter. */
static const char *make_request_id(struct worker *w)
{
	w->id_counter++;
	return arena_printf(w->arena, "%08x%08lx", (unsigned)w->pid & 0xffffffffu,
	                    w->id_counter & 0xffffffffUL);
}

static void drain(FCGX_Stream *in, long limit)
{
	char scratch[16384];
	long total = 0;
	int n;

	while (total < limit) {
		n = FCGX_GetStr(scratch, (int)sizeof(scratch), in);
		if (n <= 0)
			break;
		total += n;
	}
}

/* Reads up to len bytes into the arena and hands them to hr (fcgi_request_body).
 * Returns 0, or -1 when the stream ended early (the caller answers 400: a body shorter
 * than its Content-Length is never handed to lib, even when what arrived happens to be
 * valid JSON). */
static int read_body(struct worker *w, struct http_req *hr, long len)
{
	char *body = arena_alloc(w->arena, (size_t)len + 1);
	size_t got = 0;
	int n;

	while (got < (size_t)len) {
		size_t want = (size_t)len - got;

		n = FCGX_GetStr(body + got, want > INT_MAX ? INT_MAX : (int)want, w->req.in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return fcgi_request_body(hr, body, got);
}

static int header_safe(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

static void write_response(struct worker *w, const struct http_req *hr,
                           const struct http_resp *resp)
{
	struct buf head;
	int status = resp->status ? resp->status : 500;
	int no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
	int head_only = strcmp(hr->method, "HEAD") == 0;
	int rc = 0;
	int i;

	buf_init(&head, w->arena, 16384);
	rc |= buf_printf(&head, "Status: %d %s\r\n", status, http_reason(status));
	if (resp->content_type && !no_body && header_safe(resp->content_type))
		rc |= buf_printf(&head, "Content-Type: %s\r\n", resp->content_type);
	for (i = 0; i < resp->nheaders; i++) {
		const struct http_header *h = &resp->headers[i];

		if (!header_safe(h->name) || !header_safe(h->value) || !*h->name) {
			log_warn("dropping a response header with CR/LF or no name");
			continue;
		}
		rc |= buf_printf(&head, "%s: %s\r\n", h->name, h->value);
	}
	if (!no_body)
		rc |= buf_printf(&head, "Content-Length: %zu\r\n", resp->body.len);
	rc |= buf_puts(&head, "\r\n");
	if (rc) {
		/* Only possible with absurd headers: answer a bare 500 rather than a torn one. */
		log_error("response headers over 16 KiB; sending 500");
		FCGX_PutS("Status: 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
		          w->req.out);
		return;
	}
	if (FCGX_PutStr(head.data, (int)head.len, w->req.out) < 0)
		goto gone;
	if (!no_body && !head_only && resp->body.len > 0 &&
	    FCGX_PutStr(resp->body.data, (int)resp->body.len, w->req.out) < 0)
		goto gone;
	return;
gone:
	log_debug("client went away while the response was written");
}

static void serve(struct worker *w)
{
	struct http_req hr;
	struct http_resp resp;
	enum fcgi_body body;
	int short_body = 0;

	body = fcgi_request_head(&hr, w->arena, getparam, &w->req, (long)w->cfg->max_body,
	                         make_request_id(w));
	log_set_request_id(hr.request_id);
	if (body == FCGI_BODY_DRAIN)
		drain(w->req.in, DRAIN_LIMIT);
	else if (body == FCGI_BODY_READ)
		short_body = read_body(w, &hr, hr.content_length) < 0;

	http_resp_init(&resp, w->arena);
	if (body == FCGI_BODY_BAD_LENGTH)
		problem_render(&resp, w->arena, 400, "invalid_content_length",
		               "Content-Length is not a decimal number", NULL, 0);
	else if (short_body)
		problem_render(&resp, w->arena, 400, "incomplete_body",
		               "the body is shorter than its Content-Length", NULL, 0);
	else
		app_handle(&w->app, w->arena, &hr, &resp);
	write_response(w, &hr, &resp);
	log_set_request_id(NULL);
}

static int install_signals(sigset_t *wait_mask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigterm;
	sa.sa_flags = 0; /* no SA_RESTART: ppoll must return on SIGTERM */
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return ERR_INTERNAL;
	/* The master owns SIGINT and SIGHUP (a terminal's ^C reaches the whole process group:
	 * the master turns it into a graceful SIGTERM for us). */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0 ||
	    sigaction(SIGPIPE, &sa, NULL) < 0)
		return ERR_INTERNAL;
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return ERR_INTERNAL;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_SETMASK, &block, NULL) < 0)
		return ERR_INTERNAL;
	sigemptyset(wait_mask);
	return 0;
}

/* Tells the master that this worker is ready: our pid as one record on the shared
 * readiness pipe (4 bytes < PIPE_BUF: never interleaved with another worker's). */
static int announce_ready(int ready_fd, pid_t pid)
{
	int32_t rec = (int32_t)pid;
	ssize_t n;

	if (ready_fd < 0)
		return 0;
	do {
		n = write(ready_fd, &rec, sizeof(rec));
	} while (n < 0 && errno == EINTR);
	close(ready_fd);
	return n == (ssize_t)sizeof(rec) ? 0 : -1;
}

/* wait_open: an epoll instance with the listening socket registered EPOLLEXCLUSIVE, or
 * -1 (logged; the caller waits with ppoll then). */
static int wait_open(int listen_fd)
{
	struct epoll_event ev;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0) {
		log_warn("worker: epoll_create1: %s; waiting with ppoll", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = listen_fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		log_warn("worker: epoll_ctl: %s; waiting with ppoll", strerror(errno));
		close(epfd);
		return -1;
	}
	return epfd;
}

/* wait_requeue puts this worker at the end of the listening socket's queue of exclusive
 * waiters: the kernel wakes the first idle waiter in that queue, which would otherwise
 * always be the same worker. Re-registering makes it the idle worker that has waited
 * longest, so every worker keeps serving (MEDRIN_MAX_REQUESTS recycling, a worker that
 * dropped a stalled peer). It costs two syscalls, so it is done every REQUEUE_EVERY
 * connections, not after each: the spread is the same over a few dozen requests, and
 * under load (every worker busy in turn) the order does not matter anyway. */
static int wait_requeue(int epfd, int listen_fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = listen_fd;
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd, NULL) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		log_warn("worker: epoll_ctl: %s; waiting with ppoll", strerror(errno));
		close(epfd);
		return -1;
	}
	return epfd;
}

void worker_run(const struct config *cfg, int listen_fd, int ready_fd, const int *close_fds,
                int nclose)
{
	struct worker w;
	sigset_t wait_mask;
	struct pollfd pfd;
	struct epoll_event ev;
	int epfd = -1;
	long long t0;
	int code = 0;
	int req_ready = 0;
	int app_ready = 0;
	int rc;
	int i;

	for (i = 0; i < nclose; i++)
		if (close_fds[i] >= 0)
			close(close_fds[i]);
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.pid = getpid();
	w.arena = NULL;
	/* Our handlers first: libfcgi's OS_LibInit only installs its own where the
	 * disposition is still the default. */
	if (install_signals(&wait_mask) < 0) {
		log_error("worker: cannot set up signals: %s", strerror(errno));
		code = 1;
		goto out;
	}
	rc = FCGX_Init();
	/* listen_sock -1: libfcgi never accepts by itself (see accept_one). */
	if (rc != 0 || FCGX_InitRequest(&w.req, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("worker: libfcgi initialisation failed (%d)", rc);
		code = 1;
		goto out;
	}
	req_ready = 1;
	rc = app_init(&w.app, cfg);
	if (rc < 0) {
		log_error("worker: app_init failed (%s); exiting with status %d", err_name(rc),
		          WORKER_EXIT_INIT);
		code = WORKER_EXIT_INIT;
		goto out;
	}
	app_ready = 1;
	w.arena = arena_new(0);
	if (announce_ready(ready_fd, w.pid) < 0) {
		log_error("worker: cannot tell the master it is ready: %s", strerror(errno));
		code = 1;
		goto out;
	}
	ready_fd = -1;

	pfd.fd = listen_fd;
	pfd.events = POLLIN;
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		w.tcp = getsockname(listen_fd, (struct sockaddr *)&ss, &len) == 0 &&
		        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	}
	/* One idle worker wakes per connection: every worker waits in its own epoll instance
	 * with the listening socket registered EPOLLEXCLUSIVE, so the kernel wakes one waiter
	 * (not all of them, as poll on a shared socket does: a thundering herd that costs
	 * every idle worker a wake-up, a failed accept and a trip through the scheduler per
	 * connection). Level-triggered: while connections wait, the next wait returns at once.
	 * epoll_pwait takes the same signal mask as ppoll, so SIGTERM still lands only there.
	 * Without epoll (it cannot fail on Linux short of ENOMEM/EMFILE) ppoll is used. */
	epfd = wait_open(listen_fd);
	while (!stop_requested) {
		if (cfg->max_requests > 0 && w.served >= (unsigned long)cfg->max_requests) {
			log_info("worker: served %lu requests; recycling", w.served);
			break;
		}
		pfd.revents = 0;
		if (epfd >= 0)
			rc = epoll_pwait(epfd, &ev, 1, -1, &wait_mask);
		else
			rc = ppoll(&pfd, 1, NULL, &wait_mask);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_error("worker: %s: %s", epfd >= 0 ? "epoll_pwait" : "ppoll",
			          strerror(errno));
			code = 1;
			break;
		}
		if (stop_requested)
			break;
		rc = accept_one(&w, listen_fd);
		if (rc == 1 && epfd >= 0 && w.served % REQUEUE_EVERY == REQUEUE_EVERY - 1)
			epfd = wait_requeue(epfd, listen_fd);
		if (rc == 0)
			continue; /* another worker won the race, or the peer left already */
		if (rc < 0) {
			log_error("worker: accept failed: %s", strerror(errno));
			code = 1;
			break;
		}
		t0 = now_ms();
		rc = FCGX_Accept_r(&w.req);
		if (rc < 0) {
			/* libfcgi gave up on our connection (and closed it): the peer sent no
			 * complete request within the bound, closed early, or broke the
			 * protocol. The worker goes on. */
			if (now_ms() - t0 >= (long long)cfg->client_timeout_s * 1000)
				log_warn(
				    "worker: dropped a FastCGI connection that sent no complete "
				    "request for %d s (MEDRIN_CLIENT_TIMEOUT_SECONDS)",
				    cfg->client_timeout_s);
			else
				log_info("worker: dropped a FastCGI connection that closed before "
				         "its request or did not speak FastCGI");
			if (w.req.ipcFd >= 0) /* cannot happen: libfcgi closed it */
				FCGX_Free(&w.req, 1);
			continue;
		}
		serve(&w);
		FCGX_Finish_r(&w.req);
		if (w.req.ipcFd >= 0) /* FCGI_KEEP_CONN: not used by our nginx; close anyway */
			FCGX_Free(&w.req, 1);
		arena_reset(w.arena);
		w.served++;
	}
	if (stop_requested)
		log_debug("worker: stopping after %lu requests", w.served);
out:
	if (epfd >= 0)
		close(epfd);
	if (req_ready)
		FCGX_Free(&w.req, 1);
	if (w.arena)
		arena_free(w.arena);
	if (app_ready)
		app_close(&w.app);
	exit(code);
}
