/* master.c - see master.h and docs/internals/fcgi.md.
 *
 * The master blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP and reads them from a signalfd
 * in one poll loop, so no handler runs asynchronously and every decision is made in
 * one place. Timers (respawn back-off, SIGTERM re-sends, drain deadlines) become the
 * poll timeout.
 *
 * Readiness: every worker writes its pid to one shared pipe once app_init has succeeded
 * (worker.h). The master reads that pipe in the same poll loop. READY=1 goes to systemd
 * only when every slot of the first generation has a ready worker; a reload forks the
 * new generation beside the old one and stops the old one only when every new worker is
 * ready. A new worker that exits (or a generation that is not ready within
 * MASTER_READY_TIMEOUT_MS) before that fails the reload: the new workers are stopped and
 * the old generation, with the old configuration, keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "base/util.h"
#include "base/metrics.h"
#include "master.h"
#include "base/sdnotify.h"
#include "worker.h"

#define MS 1000LL /* microseconds per millisecond */
#define BACKOFF_BASE_MS 500
#define TERM_RESEND_MS 1000
#define BACKLOG_CHECK_MS 20 /* stopping: how often the accept backlog is looked at */

struct child {
	pid_t pid;
	unsigned gen;
	int slot;  /* index in the slots of its generation (serving or pending), else -1 */
	int ready; /* wrote its pid to the readiness pipe: app_init succeeded */
	int64_t started;
	int draining;      /* SIGTERM sent: finishing its request, then exits */
	int killed;        /* SIGKILL sent at the drain deadline */
	int64_t deadline;  /* drain deadline */
	int64_t next_term; /* next SIGTERM re-send */
};

struct slot {
	pid_t pid;    /* 0: no process, (re)spawn at spawn_at */
	int ready;    /* the process in it is ready */
	int failures; /* quick deaths in a row */
	int spawned;  /* has had a process before: the next one is a respawn */
	int64_t spawn_at;
};

/* One generation: a configuration and its slots. */
struct gen {
	unsigned id;
	struct config *cfg;
	struct slot *slots;
	int nslots;
};

struct master {
	const struct listen_sock *ls;
	const char *env_file;
	int sigfd;
	int ready_rd, ready_wr; /* the readiness pipe (read end non-blocking) */
	struct gen cur;         /* serving; cur.cfg is the caller's struct */
	struct gen next;        /* reloading: the generation proving it is ready */
	struct config next_cfg; /* next.cfg points here */
	int reloading;
	int64_t reload_deadline;
	int announced; /* READY=1 sent for the first generation */
	unsigned last_gen;
	struct child *kids;
	size_t nkids, capkids;
	int stopping;
	int backlog_wait;      /* stopping: workers still serve the accept backlog */
	int64_t stop_deadline; /* drain deadline of the whole stop */
	int empty_checks;      /* consecutive checks that found the backlog empty */
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
		if (m->kids[i].gen == m->cur.id && !m->kids[i].draining)
			alive++;
	metrics_set_pool(m->cur.nslots, alive);
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

static struct child *find_kid(struct master *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].pid == pid)
			return &m->kids[i];
	return NULL;
}

/* The generation a child belongs to, if it is the serving or the pending one. */
static struct gen *gen_of(struct master *m, const struct child *k)
{
	if (k->gen == m->cur.id)
		return &m->cur;
	if (m->reloading && k->gen == m->next.id)
		return &m->next;
	return NULL;
}

static void spawn(struct master *m, struct gen *g, int i)
{
	struct slot *s = &g->slots[i];
	int close_fds[2];
	struct child *k;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		log_error("fork failed: %s; retrying in 1 s", strerror(errno));
		s->spawn_at = now_usec() + 1000 * MS;
		return;
	}
	if (pid == 0) {
		close_fds[0] = m->sigfd;
		close_fds[1] = m->ready_rd;
		worker_run(g->cfg, m->ls->fd, m->ready_wr, close_fds, 2); /* never returns */
	}

	k = add_kid(m);
	k->pid = pid;
	k->gen = g->id;
	k->slot = i;
	k->started = now_usec();
	s->pid = pid;
	s->ready = 0;
	if (s->spawned)
		metrics_worker_started();
	s->spawned = 1;
	log_info("worker started pid=%d generation=%u slot=%d", (int)pid, g->id, i);
}

static void spawn_due_in(struct master *m, struct gen *g)
{
	int64_t now = now_usec();
	int i;

	for (i = 0; i < g->nslots; i++)
		if (g->slots[i].pid == 0 && g->slots[i].spawn_at <= now)
			spawn(m, g, i);
}

static void spawn_due(struct master *m)
{
	if (m->stopping)
		return;
	spawn_due_in(m, &m->cur);
	if (m->reloading)
		spawn_due_in(m, &m->next);
}

static int all_ready(const struct gen *g)
{
	int i;

	for (i = 0; i < g->nslots; i++)
		if (!g->slots[i].pid || !g->slots[i].ready)
			return 0;
	return g->nslots > 0;
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

/* SIGTERM to every child of generation id (or of every generation but id when
 * others is set); returns how many. */
static size_t terminate_gen(struct master *m, unsigned id, int others)
{
	int64_t deadline = now_usec() + (int64_t)m->cur.cfg->drain_seconds * 1000 * MS;
	size_t i, n = 0;

	for (i = 0; i < m->nkids; i++) {
		struct child *k = &m->kids[i];

		if ((k->gen == id) == !others && !k->draining) {
			terminate(k, deadline);
			n++;
		}
	}
	return n;
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

static void free_gen(struct gen *g)
{
	free(g->slots);
	g->slots = NULL;
	g->nslots = 0;
}

static void make_slots(struct gen *g, int n)
{
	struct slot *s = calloc((size_t)(n > 0 ? n : 1), sizeof(*s));

	if (!s)
		abort();
	free(g->slots);
	g->slots = s;
	g->nslots = n;
}

/* Ends a pending reload without committing it: its workers are told to stop, its
 * configuration is dropped. The serving generation is untouched. */
static void abandon_reload(struct master *m)
{
	if (!m->reloading)
		return;
	terminate_gen(m, m->next.id, 0);
	free_gen(&m->next);
	config_free(&m->next_cfg);
	memset(&m->next_cfg, 0, sizeof(m->next_cfg));
	m->next.cfg = NULL;
	m->reloading = 0;
}

/* The one error line of a failed reload, then READY=1 again: the old generation is
 * serving, which is what READY means. */
static void reload_failed(struct master *m, const char *cause)
{
	unsigned id = m->next.id;

	abandon_reload(m);
	log_error("reload failed: generation %u did not start: %s; generation %u keeps serving "
	          "with the previous configuration",
	          id, cause, m->cur.id);
	if (sdnotifyf("READY=1\nSTATUS=reload failed: %s", cause) < 0)
		log_warn("sd_notify READY failed");
}

static void announce(struct master *m, const char *status)
{
	int rc;

	if (!m->announced)
		rc = sdnotifyf("READY=1\nMAINPID=%d\nSTATUS=%s", (int)getpid(), status);
	else
		rc = sdnotifyf("READY=1\nSTATUS=%s", status);
	if (rc < 0)
		log_warn("sd_notify READY failed");
	m->announced = 1;
}

/* Every new worker is ready: the new configuration becomes the running one and the old
 * generation drains. */
static void commit_reload(struct master *m)
{
	char status[96];
	size_t nold;

	config_free(m->cur.cfg);
	*m->cur.cfg = m->next_cfg;
	memset(&m->next_cfg, 0, sizeof(m->next_cfg));
	free_gen(&m->cur);
	m->cur.id = m->next.id;
	m->cur.slots = m->next.slots;
	m->cur.nslots = m->next.nslots;
	m->next.slots = NULL;
	m->next.nslots = 0;
	m->next.cfg = NULL;
	m->reloading = 0;
	log_init("medrin-fcgi", m->cur.cfg->log_level);
	nold = terminate_gen(m, m->cur.id, 1);
	log_info("reload: generation %u ready with %d worker(s); %zu old worker(s) draining",
	         m->cur.id, m->cur.nslots, nold);
	snprintf(status, sizeof(status), "generation %u: %d worker(s)", m->cur.id, m->cur.nslots);
	announce(m, status);
}

/* Called after readiness records and exits have been taken in. */
static void check_ready(struct master *m)
{
	char status[96];

	if (m->stopping)
		return;
	if (m->reloading) {
		if (all_ready(&m->next))
			commit_reload(m);
		else if (now_usec() >= m->reload_deadline)
			reload_failed(m, "its workers were not ready within "
			                 "MASTER_READY_TIMEOUT_MS (30 s)");
		return;
	}
	if (!m->announced && all_ready(&m->cur)) {
		log_info("master pid=%d ready: %d worker(s), max_requests=%d, drain_seconds=%d",
		         (int)getpid(), m->cur.cfg->workers, m->cur.cfg->max_requests,
		         m->cur.cfg->drain_seconds);
		snprintf(status, sizeof(status), "generation %u: %d worker(s)", m->cur.id,
		         m->cur.nslots);
		announce(m, status);
	}
}

/* Takes in every readiness record waiting in the pipe. */
static void read_ready(struct master *m)
{
	int32_t recs[64];
	ssize_t n;
	size_t i;

	for (;;) {
		n = read(m->ready_rd, recs, sizeof(recs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Records are 4 bytes written atomically, so n is a multiple of 4. */
		for (i = 0; i < (size_t)n / sizeof(recs[0]); i++) {
			struct child *k = find_kid(m, (pid_t)recs[i]);
			struct gen *g;

			if (!k)
				continue;
			k->ready = 1;
			g = gen_of(m, k);
			if (g && k->slot >= 0 && g->slots[k->slot].pid == k->pid)
				g->slots[k->slot].ready = 1;
			log_debug("worker pid=%d generation=%u ready", (int)k->pid, k->gen);
		}
	}
}

static void on_exit_of(struct master *m, struct child *k, int status)
{
	int64_t now = now_usec();
	int64_t lived_ms = (now - k->started) / MS;
	int init_failed = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_INIT;
	char how[96];
	char cause[256];
	struct gen *g;
	struct slot *s;

	describe_status(status, how, sizeof(how));
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || k->draining))
		log_info("worker exited pid=%d generation=%u status=\"%s\" lived_ms=%lld",
		         (int)k->pid, k->gen, how, (long long)lived_ms);
	else
		log_warn("worker exited pid=%d generation=%u status=\"%s\" lived_ms=%lld%s",
		         (int)k->pid, k->gen, how, (long long)lived_ms,
		         init_failed ? " (app_init failed)"
		         : k->ready  ? ""
		                     : " (before it was ready)");

	if (k->slot < 0 || m->stopping)
		return;
	g = gen_of(m, k);
	if (!g)
		return;
	if (g == &m->next && !k->ready) {
		if (init_failed)
			snprintf(
			    cause, sizeof(cause),
			    "worker pid=%d: app_init failed (exit %d; its error is logged above)",
			    (int)k->pid, WORKER_EXIT_INIT);
		else
			snprintf(cause, sizeof(cause),
			         "worker pid=%d ended (%s) before it was ready", (int)k->pid, how);
		reload_failed(m, cause);
		return;
	}
	s = &g->slots[k->slot];
	s->pid = 0;
	s->ready = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && k->ready) {
		s->failures = 0; /* recycled after MEDRIN_MAX_REQUESTS: replace now */
		s->spawn_at = now;
	} else if (!k->ready || lived_ms < MASTER_QUICK_EXIT_MS) {
		int64_t delay = BACKOFF_BASE_MS;
		int f;

		s->failures++;
		for (f = 1; f < s->failures && delay < MASTER_BACKOFF_MAX_MS; f++)
			delay *= 2;
		if (delay > MASTER_BACKOFF_MAX_MS)
			delay = MASTER_BACKOFF_MAX_MS;
		s->spawn_at = now + delay * MS;
		if (init_failed)
			log_error(
			    "worker in slot %d could not start: app_init failed (%d in a row); "
			    "respawning in %lld ms",
			    k->slot, s->failures, (long long)delay);
		else if (!k->ready)
			log_warn("worker in slot %d died before it was ready (%d in a row); "
			         "respawning in %lld ms",
			         k->slot, s->failures, (long long)delay);
		else
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
	struct child *k;
	pid_t pid;
	int status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		/* A worker writes its readiness record before it can exit: take in what is in
		 * the pipe now, so that a ready worker is never mistaken for one that was not. */
		read_ready(m);
		k = find_kid(m, pid);
		if (!k)
			continue; /* not one of ours (cannot happen: we fork nothing else) */
		on_exit_of(m, k, status);
		/* on_exit_of may have added no child (it never forks) but k stays valid. */
		*k = m->kids[--m->nkids];
	}
}

static void begin_stop(struct master *m, int sig)
{
	if (m->stopping)
		return;
	abandon_reload(m);
	m->stopping = 1;
	/* First no new connections, then the workers serve what is already queued: closing
	 * a listening socket resets every connection in its backlog, and nginx cannot retry
	 * a POST it has already sent. STOPPING=1 goes out once new ones are refused. */
	listen_stop_new(m->ls);
	if (sdnotify("STOPPING=1") < 0)
		log_warn("sd_notify STOPPING failed");
	log_info("%s: graceful stop; new connections go elsewhere, %zu worker(s) serve the "
	         "backlog and finish their requests (up to %d s)",
	         strsignal(sig), m->nkids, m->cur.cfg->drain_seconds);
	m->stop_deadline = now_usec() + (int64_t)m->cur.cfg->drain_seconds * 1000 * MS;
	m->backlog_wait = 1;
	m->empty_checks = 0;
}

/* While stopping: once the backlog stayed empty for two checks BACKLOG_CHECK_MS apart
 * (or at the deadline, or with no worker left to serve it), the workers get SIGTERM. */
static void drive_stop(struct master *m)
{
	size_t i;

	if (!m->backlog_wait)
		return;
	if (listen_backlog_empty(m->ls))
		m->empty_checks++;
	else
		m->empty_checks = 0;
	if (m->empty_checks < 2 && m->nkids > 0 && now_usec() < m->stop_deadline)
		return;
	m->backlog_wait = 0;
	for (i = 0; i < m->nkids; i++)
		terminate(&m->kids[i], m->stop_deadline);
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

/* The process environment as it was before MEDRIN_ENV_FILE was first applied. A reload
 * starts again from it and applies the file as a whole, so a key deleted from the file
 * reverts to what a restart would give it (the environment's value, else its default)
 * instead of keeping the value the file used to set. */
extern char **environ;
static char **start_env;

void master_save_environment(void)
{
	size_t n = 0;

	while (environ != NULL && environ[n] != NULL)
		n++;
	start_env = util_xmalloc((n + 1) * sizeof(*start_env));
	for (size_t i = 0; i < n; i++)
		start_env[i] = util_xstrdup(environ[i]);
	start_env[n] = NULL;
}

static void restore_environment(void)
{
	if (start_env == NULL)
		return;
	clearenv();
	for (size_t i = 0; start_env[i] != NULL; i++) {
		const char *eq = strchr(start_env[i], '=');

		if (eq == NULL || eq == start_env[i])
			continue;
		size_t klen = (size_t)(eq - start_env[i]);
		char *key = util_xmalloc(klen + 1);

		memcpy(key, start_env[i], klen);
		key[klen] = '\0';

		/* systemd's socket-activation variables were consumed at start (listen.c) */
		if (strncmp(key, "LISTEN_", 7) != 0 && setenv(key, eq + 1, 1) != 0)
			log_warn("reload: cannot restore %s in the environment", key);
		free(key);
	}
}

/* SIGHUP: new configuration, new generation on the same socket beside the old one; the
 * old one drains only once every new worker is ready (check_ready -> commit_reload). */
static void reload(struct master *m)
{
	struct buf err;
	int rc;
	int i;

	if (m->reloading) {
		log_warn("SIGHUP during a reload: generation %u is abandoned, reloading again",
		         m->next.id);
		abandon_reload(m);
	}
	if (sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%lld", (long long)now_usec()) < 0)
		log_warn("sd_notify RELOADING failed");
	buf_init(&err, NULL, 16384);
	memset(&m->next_cfg, 0, sizeof(m->next_cfg));
	if (m->env_file) {
		restore_environment();
		rc = config_apply_env_file(m->env_file, &err);
		if (rc < 0) {
			log_problems("reload: MEDRIN_ENV_FILE", &err);
			log_error(
			    "reload refused: cannot read %s; keeping the running configuration",
			    m->env_file);
			goto refused;
		}
	}
	rc = config_load(&m->next_cfg, &err);
	if (rc < 0) {
		log_problems("reload: invalid configuration", &err);
		log_error("reload refused; keeping the running configuration");
		config_free(&m->next_cfg);
		memset(&m->next_cfg, 0, sizeof(m->next_cfg));
		goto refused;
	}
	if (strcmp(m->next_cfg.listen ? m->next_cfg.listen : "",
	           m->cur.cfg->listen ? m->cur.cfg->listen : "") != 0)
		log_warn("reload: MEDRIN_LISTEN changed to %s; the socket stays as it is until a "
		         "restart",
		         m->next_cfg.listen ? m->next_cfg.listen : "");

	/* The new generation starts beside the old one, which keeps serving until every
	 * new worker is ready. */
	m->reloading = 1;
	m->reload_deadline = now_usec() + (int64_t)MASTER_READY_TIMEOUT_MS * MS;
	m->next.id = ++m->last_gen;
	m->next.cfg = &m->next_cfg;
	make_slots(&m->next, m->next_cfg.workers);
	for (i = 0; i < m->next.nslots; i++) {
		m->next.slots[i].spawned = 1; /* counted by metrics as (re)starts */
		spawn(m, &m->next, i);
	}
	log_info("reload: generation %u starting with %d worker(s); generation %u serves until "
	         "they are ready",
	         m->next.id, m->next.nslots, m->cur.id);
	buf_free(&err);
	return;
refused:
	buf_free(&err);
	if (sdnotify("READY=1\nSTATUS=reload refused: invalid configuration") < 0)
		log_warn("sd_notify READY failed");
}

static void next_timer(int64_t *next, int64_t t)
{
	if (t < *next)
		*next = t;
}

/* Milliseconds until the next timer, -1 when there is none. */
static int next_timeout(const struct master *m)
{
	int64_t now = now_usec();
	int64_t next = INT64_MAX;
	int64_t ms;
	size_t i;
	int s;

	if (m->backlog_wait)
		next_timer(&next, now + BACKLOG_CHECK_MS * MS);
	if (!m->stopping) {
		for (s = 0; s < m->cur.nslots; s++)
			if (m->cur.slots[s].pid == 0)
				next_timer(&next, m->cur.slots[s].spawn_at);
		if (m->reloading) {
			for (s = 0; s < m->next.nslots; s++)
				if (m->next.slots[s].pid == 0)
					next_timer(&next, m->next.slots[s].spawn_at);
			next_timer(&next, m->reload_deadline);
		}
	}
	for (i = 0; i < m->nkids; i++) {
		const struct child *k = &m->kids[i];

		if (!k->draining || k->killed)
			continue;
		next_timer(&next, k->next_term);
		next_timer(&next, k->deadline);
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
	int p[2];

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
	/* The readiness pipe: the read end is the master's (non-blocking), the write end is
	 * inherited by every worker (blocking: a record is never dropped). */
	if (pipe2(p, O_CLOEXEC) < 0)
		return ERR_INTERNAL;
	m->ready_rd = p[0];
	m->ready_wr = p[1];
	if (fcntl(m->ready_rd, F_SETFL, fcntl(m->ready_rd, F_GETFL) | O_NONBLOCK) < 0)
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
		case SIGINT: begin_stop(m, (int)si.ssi_signo); break;
		case SIGHUP:
			if (m->stopping)
				log_info("SIGHUP ignored: stopping");
			else
				reload(m);
			break;
		default: /* SIGCHLD: reap() runs after every wake-up */ break;
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int master_run(struct config *cfg, const struct listen_sock *ls, const char *env_file)
{
	struct master m;
	struct pollfd pfd[2];
	int i;
	int rc;

	memset(&m, 0, sizeof(m));
	m.cur.cfg = cfg;
	m.ls = ls;
	m.env_file = env_file;
	m.sigfd = m.ready_rd = m.ready_wr = -1;
	rc = setup_signals(&m);
	if (rc < 0) {
		log_error("master: cannot set up signal handling: %s", strerror(errno));
		close_fd(&m.sigfd);
		close_fd(&m.ready_rd);
		close_fd(&m.ready_wr);
		return rc;
	}
	m.cur.id = m.last_gen = 1;
	make_slots(&m.cur, cfg->workers);
	for (i = 0; i < m.cur.nslots; i++)
		spawn(&m, &m.cur, i);
	update_pool_metrics(&m);
	log_info("master pid=%d: %d worker(s) starting; READY once each has initialised",
	         (int)getpid(), cfg->workers);

	pfd[0].fd = m.sigfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = m.ready_rd;
	pfd[1].events = POLLIN;
	for (;;) {
		spawn_due(&m);
		drive_stop(&m);
		drive_draining(&m);
		check_ready(&m);
		update_pool_metrics(&m);
		if (m.stopping && m.nkids == 0)
			break;
		rc = poll(pfd, 2, next_timeout(&m));
		if (rc < 0 && errno != EINTR) {
			log_error("master: poll: %s", strerror(errno));
			sleep(1);
		}
		read_ready(&m);
		read_signals(&m);
		reap(&m);
	}
	log_info("master: all workers stopped; exiting");
	/* The signals stay blocked: a second ^C during the last steps is ignored. */
	close_fd(&m.sigfd);
	close_fd(&m.ready_rd);
	close_fd(&m.ready_wr);
	free_gen(&m.cur);
	free_gen(&m.next);
	free(m.kids);
	return 0;
}
