/* master.c - see master.h and docs/internals/fcgi.md.
 *
 * The master blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP and reads them from a signalfd
 * in one poll loop, so no handler runs asynchronously and every decision is made in
 * one place. Timers (respawn back-off, SIGTERM re-sends, drain deadlines) become the
 * poll timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "master.h"
#include "sdnotify.h"
#include "worker.h"

#define MS 1000LL /* microseconds per millisecond */
#define BACKOFF_BASE_MS 500
#define TERM_RESEND_MS 1000

struct child {
	pid_t pid;
	unsigned gen;
	int slot; /* index in slots[] for the current generation, else -1 */
	int64_t started;
	int draining;      /* SIGTERM sent: finishing its request, then exits */
	int killed;        /* SIGKILL sent at the drain deadline */
	int64_t deadline;  /* drain deadline */
	int64_t next_term; /* next SIGTERM re-send */
};

struct slot {
	pid_t pid;    /* 0: no process, (re)spawn at spawn_at */
	int failures; /* quick deaths in a row */
	int spawned;  /* has had a process before: the next one is a respawn */
	int64_t spawn_at;
};

struct master {
	struct config *cfg;
	const struct listen_sock *ls;
	const char *env_file;
	int sigfd;
	unsigned gen;
	struct slot *slots;
	int nslots;
	struct child *kids;
	size_t nkids, capkids;
	int stopping;
};

static int64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void describe_status(int status, char *out, size_t n)
{
	if (WIFEXITED(status))
		snprintf(out, n, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, n, "signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
		         WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(out, n, "status 0x%x", (unsigned)status);
}

static void update_pool_metrics(const struct master *m)
{
	int alive = 0;
	size_t i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].gen == m->gen && !m->kids[i].draining)
			alive++;
	metrics_set_pool(m->nslots, alive);
}

static struct child *add_kid(struct master *m)
{
	if (m->nkids == m->capkids) {
		size_t cap = m->capkids ? m->capkids * 2 : 16;
		struct child *k = realloc(m->kids, cap * sizeof(*k));

		if (!k)
			abort(); /* conventions.md: out of memory is fatal */
		m->kids = k;
		m->capkids = cap;
	}
	memset(&m->kids[m->nkids], 0, sizeof(m->kids[0]));
	return &m->kids[m->nkids++];
}

static void spawn(struct master *m, int i)
{
	struct slot *s = &m->slots[i];
	struct child *k;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		log_error("fork failed: %s; retrying in 1 s", strerror(errno));
		s->spawn_at = now_usec() + 1000 * MS;
		return;
	}
	if (pid == 0)
		worker_run(m->cfg, m->ls->fd, m->sigfd); /* never returns */

	k = add_kid(m);
	k->pid = pid;
	k->gen = m->gen;
	k->slot = i;
	k->started = now_usec();
	s->pid = pid;
	if (s->spawned)
		metrics_worker_started();
	s->spawned = 1;
	log_info("worker started pid=%d generation=%u slot=%d", (int)pid, m->gen, i);
}

static void spawn_due(struct master *m)
{
	int64_t now = now_usec();
	int i;

	if (m->stopping)
		return;
	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].pid == 0 && m->slots[i].spawn_at <= now)
			spawn(m, i);
}

static void terminate(struct child *k, int64_t deadline)
{
	if (!k->draining || deadline < k->deadline)
		k->deadline = deadline;
	k->draining = 1;
	k->slot = -1;
	k->next_term = now_usec() + TERM_RESEND_MS * MS;
	kill(k->pid, SIGTERM);
}

/* Draining workers get SIGTERM again every second (a worker that is between its flag
 * check and ppoll is woken by the next one; see fcgi.md) and SIGKILL at the deadline. */
static void drive_draining(struct master *m)
{
	int64_t now = now_usec();
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		struct child *k = &m->kids[i];

		if (!k->draining || k->killed)
			continue;
		if (now >= k->deadline) {
			log_warn("worker pid=%d still busy at the drain deadline; killing it",
			         (int)k->pid);
			kill(k->pid, SIGKILL);
			k->killed = 1;
		} else if (now >= k->next_term) {
			kill(k->pid, SIGTERM);
			k->next_term = now + TERM_RESEND_MS * MS;
		}
	}
}

static void on_exit_of(struct master *m, struct child *k, int status)
{
	int64_t now = now_usec();
	int64_t lived_ms = (now - k->started) / MS;
	char how[96];
	struct slot *s;

	describe_status(status, how, sizeof(how));
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || k->draining))
		log_info("worker exited pid=%d generation=%u status=\"%s\" lived_ms=%lld",
		         (int)k->pid, k->gen, how, (long long)lived_ms);
	else
		log_warn("worker exited pid=%d generation=%u status=\"%s\" lived_ms=%lld",
		         (int)k->pid, k->gen, how, (long long)lived_ms);

	if (k->slot < 0 || k->gen != m->gen || m->stopping)
		return;
	s = &m->slots[k->slot];
	s->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		s->failures = 0; /* recycled after MEDRIN_MAX_REQUESTS: replace now */
		s->spawn_at = now;
	} else if (lived_ms < MASTER_QUICK_EXIT_MS) {
		int64_t delay = BACKOFF_BASE_MS;
		int f;

		s->failures++;
		for (f = 1; f < s->failures && delay < MASTER_BACKOFF_MAX_MS; f++)
			delay *= 2;
		if (delay > MASTER_BACKOFF_MAX_MS)
			delay = MASTER_BACKOFF_MAX_MS;
		s->spawn_at = now + delay * MS;
		log_warn("worker in slot %d died within %d ms of start (%d in a row); "
		         "respawning in %lld ms",
		         k->slot, MASTER_QUICK_EXIT_MS, s->failures, (long long)delay);
	} else {
		s->failures = 0;
		s->spawn_at = now;
	}
}

static void reap(struct master *m)
{
	pid_t pid;
	int status;
	size_t i;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		for (i = 0; i < m->nkids; i++)
			if (m->kids[i].pid == pid)
				break;
		if (i == m->nkids)
			continue; /* not one of ours (cannot happen: we fork nothing else) */
		on_exit_of(m, &m->kids[i], status);
		m->kids[i] = m->kids[--m->nkids];
	}
}

static void begin_stop(struct master *m, int sig)
{
	int64_t deadline = now_usec() + (int64_t)m->cfg->drain_seconds * 1000 * MS;
	size_t i;

	if (m->stopping)
		return;
	m->stopping = 1;
	if (sdnotify("STOPPING=1") < 0)
		log_warn("sd_notify STOPPING failed");
	log_info("%s: graceful stop; %zu worker(s) finish their requests (up to %d s)",
	         strsignal(sig), m->nkids, m->cfg->drain_seconds);
	for (i = 0; i < m->nkids; i++)
		terminate(&m->kids[i], deadline);
}

static int make_slots(struct master *m, int n)
{
	struct slot *s = calloc((size_t)n, sizeof(*s));

	if (!s)
		abort();
	free(m->slots);
	m->slots = s;
	m->nslots = n;
	return 0;
}

static void log_problems(const char *what, const struct buf *err)
{
	const char *p = buf_str(err);

	while (*p) {
		size_t n = strcspn(p, "\n");

		log_error("%s: %.*s", what, (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* SIGHUP: new configuration, new generation on the same socket, old one drains. */
static void reload(struct master *m)
{
	struct config nc;
	struct buf err;
	int64_t deadline;
	size_t i, nold;
	int rc;
	int i_slot;

	if (sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%lld", (long long)now_usec()) < 0)
		log_warn("sd_notify RELOADING failed");
	buf_init(&err, NULL, 16384);
	memset(&nc, 0, sizeof(nc));
	if (m->env_file) {
		rc = config_apply_env_file(m->env_file, &err);
		if (rc < 0) {
			log_problems("reload: MEDRIN_ENV_FILE", &err);
			log_error(
			    "reload refused: cannot read %s; keeping the running configuration",
			    m->env_file);
			goto out;
		}
	}
	rc = config_load(&nc, &err);
	if (rc < 0) {
		log_problems("reload: invalid configuration", &err);
		log_error("reload refused; keeping the running configuration");
		config_free(&nc);
		goto out;
	}
	if (strcmp(nc.listen ? nc.listen : "", m->cfg->listen ? m->cfg->listen : "") != 0)
		log_warn("reload: MEDRIN_LISTEN changed to %s; the socket stays as it is until a "
		         "restart",
		         nc.listen ? nc.listen : "");
	config_free(m->cfg);
	*m->cfg = nc;
	log_init("medrin-fcgi", m->cfg->log_level);

	/* Old generation: every child alive now. Fork the new one first, then tell the old
	 * one to stop: the listening socket never lacks a worker, and an old worker only
	 * stops after its in-flight request. */
	nold = m->nkids;
	m->gen++;
	make_slots(m, m->cfg->workers);
	for (i_slot = 0; i_slot < m->nslots; i_slot++) {
		m->slots[i_slot].spawned = 1; /* counted by metrics as (re)starts */
		spawn(m, i_slot);
	}
	deadline = now_usec() + (int64_t)m->cfg->drain_seconds * 1000 * MS;
	for (i = 0; i < nold; i++)
		if (m->kids[i].gen != m->gen)
			terminate(&m->kids[i], deadline);
	log_info("reload: generation %u started with %d worker(s); %zu old worker(s) draining",
	         m->gen, m->nslots, nold);
out:
	buf_free(&err);
	if (sdnotify("READY=1") < 0)
		log_warn("sd_notify READY failed");
}

/* Milliseconds until the next timer, -1 when there is none. */
static int next_timeout(const struct master *m)
{
	int64_t now = now_usec();
	int64_t next = INT64_MAX;
	int64_t ms;
	size_t i;
	int s;

	if (!m->stopping)
		for (s = 0; s < m->nslots; s++)
			if (m->slots[s].pid == 0 && m->slots[s].spawn_at < next)
				next = m->slots[s].spawn_at;
	for (i = 0; i < m->nkids; i++) {
		const struct child *k = &m->kids[i];

		if (!k->draining || k->killed)
			continue;
		if (k->next_term < next)
			next = k->next_term;
		if (k->deadline < next)
			next = k->deadline;
	}
	if (next == INT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	ms = (next - now + MS - 1) / MS;
	return ms > 60000 ? 60000 : (int)ms;
}

static int setup_signals(struct master *m)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return ERR_INTERNAL;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return ERR_INTERNAL;
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sigfd < 0)
		return ERR_INTERNAL;
	return 0;
}

static void read_signals(struct master *m)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(m->sigfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(m, (int)si.ssi_signo);
			break;
		case SIGHUP:
			if (m->stopping)
				log_info("SIGHUP ignored: stopping");
			else
				reload(m);
			break;
		default: /* SIGCHLD: reap() runs after every wake-up */
			break;
		}
	}
}

int master_run(struct config *cfg, const struct listen_sock *ls, const char *env_file)
{
	struct master m;
	struct pollfd pfd;
	int i;
	int rc;

	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.ls = ls;
	m.env_file = env_file;
	m.sigfd = -1;
	rc = setup_signals(&m);
	if (rc < 0) {
		log_error("master: cannot set up signal handling: %s", strerror(errno));
		return rc;
	}
	make_slots(&m, cfg->workers);
	for (i = 0; i < m.nslots; i++)
		spawn(&m, i);
	update_pool_metrics(&m);
	if (sdnotifyf("READY=1\nMAINPID=%d", (int)getpid()) < 0)
		log_warn("sd_notify READY failed");
	log_info("master pid=%d ready: %d worker(s), max_requests=%d, drain_seconds=%d",
	         (int)getpid(), cfg->workers, cfg->max_requests, cfg->drain_seconds);

	pfd.fd = m.sigfd;
	pfd.events = POLLIN;
	for (;;) {
		spawn_due(&m);
		drive_draining(&m);
		update_pool_metrics(&m);
		if (m.stopping && m.nkids == 0)
			break;
		rc = poll(&pfd, 1, next_timeout(&m));
		if (rc < 0 && errno != EINTR) {
			log_error("master: poll: %s", strerror(errno));
			sleep(1);
		}
		read_signals(&m);
		reap(&m);
	}
	log_info("master: all workers stopped; exiting");
	/* The signals stay blocked: a second ^C during the last steps is ignored. */
	close(m.sigfd);
	free(m.slots);
	free(m.kids);
	return 0;
}
