/* main.c - medrin-worker: runs the tasks queued in PostgreSQL (docs/internals/tasks.md).
 *
 *   medrin-worker [--once]
 *
 * Loop: claim a due task (FOR UPDATE SKIP LOCKED, with the lease of its kind), look the
 * kind up in the kind table and run it while a heartbeat thread renews the lease, record
 * success or failure (with back-off), repeat; when nothing is due, wait on a LISTEN
 * connection until NOTIFY medrin_tasks, the next task's due time, or
 * MEDRIN_WORKER_POLL_SECONDS, whichever is first. Any number of workers may run.
 * SIGTERM/SIGINT: the current task finishes, then exit 0. --once: run what is due, exit.
 *
 * Signals are blocked except while waiting (ppoll), so a stop request is never lost
 * between "check the flag" and "sleep", and never interrupts a task half-way. The
 * heartbeat thread inherits the blocked mask and never takes a signal.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/sdnotify.h"
#include "base/util.h"
#include "domain/latex.h"
#include "domain/resumes.h"
#include "domain/jobs.h"
#include "domain/mailer.h"
#include "domain/tasks.h"
#include "security/seal.h"
#include "store/db.h"
#include "compile.h"
#include "rating.h"
#include "smtp.h"

#define BACKOFF_MAX_SECONDS 30
#define RUN_ERRBUF_SIZE 256
#define TEST_SLEEP_MAX_MS 30000

_Static_assert(RUN_ERRBUF_SIZE >= SMTP_ERRBUF_SIZE, "smtp_send writes SMTP_ERRBUF_SIZE bytes");
_Static_assert(RUN_ERRBUF_SIZE >= COMPILE_ERRBUF_SIZE, "compile_tex writes its buffer");
_Static_assert(RUN_ERRBUF_SIZE >= RATING_ERRBUF_SIZE, "rating_request writes its buffer");

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* stop_pending notices a stop signal that arrived while it was blocked (during a task):
 * the worker then stops before claiming the next one. */
static int stop_pending(void)
{
	sigset_t pending;

	if (!stop_requested && sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1))
		stop_requested = 1;
	return stop_requested;
}

/* notify sends one sd_notify datagram (base/sdnotify.h); a failure is only logged. */
static void notify(const char *state)
{
	if (sdnotify(state) != ERR_OK)
		log_debug("sd_notify failed");
}

/* wait_fd waits up to seconds for fd to become readable (fd < 0: just sleeps), with the
 * stop signals deliverable. Returns 1 readable, 0 timeout or signal, -1 error. */
static int wait_fd(int fd, double seconds, const sigset_t *waitmask)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct timespec ts;
	int n;

	if (stop_requested)
		return 0;
	if (seconds < 0)
		seconds = 0;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	n = ppoll(&pfd, fd >= 0 ? 1 : 0, &ts, waitmask);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	return n > 0 ? 1 : 0;
}

/* The LISTEN connection: plain libpq, separate from the db handle (db.h does not expose
 * its PGconn, and a connection that runs queries is the wrong one to LISTEN on anyway). */
static PGconn *listen_open(const struct config *cfg)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	char timeout[16];
	const char *vals[] = {cfg->database_url, timeout, "medrin-worker-listen", NULL};
	PGconn *conn;
	PGresult *res;

	snprintf(timeout, sizeof(timeout), "%d",
	         cfg->db_connect_timeout_s > 0 ? cfg->db_connect_timeout_s : 5);
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		log_warn("listen connection failed");
		goto fail;
	}
	res = PQexec(conn, "LISTEN " TASKS_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		log_warn("LISTEN " TASKS_CHANNEL " failed");
		goto fail;
	}
	PQclear(res);
	if (PQsetnonblocking(conn, 1) != 0)
		goto fail;
	return conn;
fail:
	PQfinish(conn);
	return NULL;
}

/* listen_drain consumes pending notifications. Returns the number seen, -1 when the
 * connection broke. */
static int listen_drain(PGconn *conn)
{
	PGnotify *n;
	int seen = 0;

	if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK)
		return -1;
	while ((n = PQnotifies(conn)) != NULL) {
		seen++;
		PQfreemem(n);
	}
	return seen;
}

/* ------------------------------------------------------------------ heartbeat */

/* While a task runs, a thread renews its lease every lease/3 (tasks_renew) on its own
 * PostgreSQL connection: a libpq connection is never used by two threads, and the main
 * one is busy with nothing while the task runs anyway, but a kind may use it later. One
 * thread per task; the connection is opened on the first renewal and kept. When a
 * renewal finds the claim gone (ERR_CONFLICT: the lease ran out and another worker
 * re-claimed the task, or an operator changed the row), `lost` is set: the kind may stop
 * early (run_lost) and the worker records no outcome. A renewal that fails otherwise
 * (database down) is retried every second; the claim is only known lost on a conflict. */
struct heartbeat {
	struct db *db;
	struct arena *a;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t thread;
	const struct task *t;
	int stop; /* under mu */
	atomic_int lost;
	atomic_int renewals; /* successful, for the log line at the end */
};

static void mono_add_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int mono_before(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec);
}

/* hb_interval_ms: a third of the lease, so two renewals in a row may fail (or be late)
 * before the lease runs out. */
static long hb_interval_ms(int lease_seconds)
{
	long ms = (long)lease_seconds * 1000 / 3;

	return ms < 200 ? 200 : ms;
}

static void *hb_main(void *arg)
{
	struct heartbeat *hb = arg;
	const struct task *t = hb->t;
	long interval = hb_interval_ms(t->lease_seconds);
	struct timespec next;
	int rc;

	mono_add_ms(&next, interval);
	pthread_mutex_lock(&hb->mu);
	while (!hb->stop) {
		if (mono_before(&next)) {
			pthread_cond_timedwait(&hb->cv, &hb->mu, &next);
			continue;
		}
		pthread_mutex_unlock(&hb->mu);
		rc = tasks_renew(hb->db, hb->a, t, t->lease_seconds);
		arena_reset(hb->a);
		pthread_mutex_lock(&hb->mu);
		if (rc == ERR_CONFLICT) {
			atomic_store(&hb->lost, 1);
			log_warn(
			    "task %s (%s): lease lost (another worker took it over, or the row "
			    "changed); stopping the heartbeat",
			    t->id, t->kind);
			break;
		}
		if (rc == ERR_OK) {
			atomic_fetch_add(&hb->renewals, 1);
			log_debug("task %s (%s): lease renewed for %d s", t->id, t->kind,
			          t->lease_seconds);
			mono_add_ms(&next, interval);
		} else {
			log_warn("task %s (%s): lease renewal failed (%s); retrying", t->id,
			         t->kind, err_name(rc));
			mono_add_ms(&next, interval < 1000 ? interval : 1000);
		}
	}
	pthread_mutex_unlock(&hb->mu);
	return NULL;
}

static int hb_init(struct heartbeat *hb, const struct config *cfg)
{
	pthread_condattr_t ca;

	memset(hb, 0, sizeof(*hb));
	if (pthread_condattr_init(&ca) != 0)
		return ERR_INTERNAL;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&hb->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return ERR_INTERNAL;
	}
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&hb->mu, NULL);
	hb->db = db_new(cfg->database_url, cfg->db_statement_timeout_ms, cfg->db_connect_timeout_s,
	                cfg->db_io_timeout_ms);
	if (tasks_register(hb->db) != ERR_OK)
		return ERR_INTERNAL;
	hb->a = arena_new(0);
	return ERR_OK;
}

static void hb_free(struct heartbeat *hb)
{
	if (hb->a == NULL)
		return;
	arena_free(hb->a);
	db_free(hb->db);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
}

/* hb_start begins renewing t's lease (t must outlive hb_stop). */
static int hb_start(struct heartbeat *hb, const struct task *t)
{
	int e;

	hb->t = t;
	hb->stop = 0;
	atomic_store(&hb->lost, 0);
	atomic_store(&hb->renewals, 0);
	e = pthread_create(&hb->thread, NULL, hb_main, hb);
	if (e != 0) {
		log_error("task %s: cannot start the heartbeat thread: %s", t->id, strerror(e));
		return ERR_UNAVAILABLE;
	}
	return ERR_OK;
}

/* hb_stop ends the heartbeat (waiting for a renewal in flight). Returns 1 when the claim
 * was lost. */
static int hb_stop(struct heartbeat *hb)
{
	pthread_mutex_lock(&hb->mu);
	hb->stop = 1;
	pthread_cond_signal(&hb->cv);
	pthread_mutex_unlock(&hb->mu);
	pthread_join(hb->thread, NULL);
	hb->t = NULL;
	return atomic_load(&hb->lost);
}

/* ------------------------------------------------------------------ the kinds */

/* What a kind's run function gets. It returns ERR_OK (success; result may be set),
 * ERR_INVALID (failed for good: no retry) or another error (retry with back-off), with
 * a short message safe to store and log in err (never a secret, a body or a URL). */
struct run {
	const struct config *cfg;
	struct arena *a;
	const struct task *t;
	struct heartbeat *hb;
	struct db *db;        /* the loop's connection (the heartbeat has its own) */
	json_object *payload; /* the task's payload, parsed (arena-owned) */
	json_object *result;  /* owned by run_one once set */
	char err[RUN_ERRBUF_SIZE];
};

/* run_lost: the claim is gone; a long kind should check this now and then and give up
 * (nothing it returns is recorded any more). */
static int run_lost(const struct run *r)
{
	return atomic_load(&r->hb->lost);
}

static void put_json(void *p)
{
	json_object_put(p);
}

/* parse_payload: the task's JSON payload as an object (arena-owned), or NULL when it is
 * not a JSON object (the task then fails for good). */
static json_object *parse_payload(struct arena *a, const char *text)
{
	json_object *o = text != NULL ? json_tokener_parse(text) : NULL;

	arena_defer(a, put_json, o);
	return o != NULL && json_object_is_type(o, json_type_object) ? o : NULL;
}

static const char *payload_str(json_object *payload, const char *key)
{
	json_object *v;

	if (payload == NULL || !json_object_object_get_ex(payload, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* run_mail sends a "mail" task: {"to","subject","enc"} (the sealed record {body[, drop]},
 * domain/mailer.h), or {"to","subject","body"} queued by older code. A "drop" stand-in
 * (an address that gets no code) is discarded unsent. */
static int run_mail(struct run *r)
{
	const char *to = payload_str(r->payload, "to");
	const char *subject = payload_str(r->payload, "subject");
	const char *body = payload_str(r->payload, "body");
	const char *enc = payload_str(r->payload, "enc");
	int rc;

	if (to == NULL || subject == NULL || (body == NULL && enc == NULL)) {
		snprintf(r->err, sizeof(r->err), "mail payload needs string to, subject, enc");
		return ERR_INVALID;
	}
	/* A code mail carries its code's expiry (epoch seconds): after it, the mail is
	 * useless, so it is dropped (failed for good, body scrubbed) instead of sent. */
	const char *expires = payload_str(r->payload, "expires_at");
	long exp = 0;

	if (expires != NULL && util_parse_long(expires, 0, LONG_MAX, &exp) == ERR_OK &&
	    (long)time(NULL) >= exp) {
		snprintf(r->err, sizeof(r->err), "the code expired before the mail could be sent");
		return ERR_INVALID;
	}
	if (enc != NULL) {
		struct record inner;
		char *plain = NULL;

		if (seal_open(r->a, r->cfg->secret_key, MAILER_SEAL_PURPOSE, to, enc, &plain) !=
		        ERR_OK ||
		    record_decode(r->a, plain, strlen(plain), &inner) != ERR_OK ||
		    (body = record_get(&inner, "body")) == NULL) {
			/* another SECRET_KEY, or altered: retrying cannot help */
			snprintf(r->err, sizeof(r->err), "mail payload cannot be opened");
			return ERR_INVALID;
		}
		if (record_get(&inner, "drop") != NULL) {
			r->result = json_object_new_object();
			json_object_object_add(r->result, "dropped", json_object_new_boolean(1));
			return ERR_OK;
		}
	}
	rc = smtp_send(r->cfg, to, subject, body, r->err);
	if (rc == ERR_OK) {
		r->result = json_object_new_object();
		json_object_object_add(r->result, "sent_at",
		                       json_object_new_string(util_rfc3339(r->a, time(NULL))));
	}
	return rc;
}

/* run_reminder fires a note's reminder ({"note_id"}): jobs_reminder_fire marks the note
 * reminded and queues the mail in one transaction, only if this task is still the note's
 * reminder and it was not mailed yet, so a second run (another worker after a lost
 * lease, a retry) sends nothing. A note deleted or re-armed meanwhile: success, nothing
 * sent (the result says so). */
static int run_reminder(struct run *r)
{
	const char *note_id = payload_str(r->payload, "note_id");
	enum jobs_reminder_outcome outcome;
	int late = 0, rc;

	if (note_id == NULL || !util_uuid_valid(note_id)) {
		snprintf(r->err, sizeof(r->err), "reminder payload needs a note_id uuid");
		return ERR_INVALID;
	}
	rc = jobs_reminder_fire(r->db, r->cfg, r->a, r->t->id, note_id, &outcome, &late);
	if (rc != ERR_OK) {
		snprintf(r->err, sizeof(r->err), "reminder not fired: %s", err_name(rc));
		return rc == ERR_INVALID ? ERR_INVALID : ERR_UNAVAILABLE;
	}
	r->result = json_object_new_object();
	json_object_object_add(
	    r->result, "outcome",
	    json_object_new_string(outcome == JOBS_REMINDER_SENT ? "mail_queued" : "stale"));
	if (outcome == JOBS_REMINDER_SENT)
		json_object_object_add(r->result, "late", json_object_new_boolean(late));
	return ERR_OK;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* run_test_sleep ({"ms": 0..30000}) sleeps, giving up early when the claim is lost: the
 * long-running task of tests/api/test_tasks.py. Test stacks only (MEDRIN_TEST_ROUTES=1,
 * which config_load refuses in production); elsewhere the kind is unknown. The result
 * says who ran it: {"pid","attempt","started_ms" (wall clock), "slept_ms"}. */
static int run_test_sleep(struct run *r)
{
	json_object *v;
	int64_t ms, t0 = util_now_usec(), started = wall_ms(), slept;

	if (!json_object_object_get_ex(r->payload, "ms", &v) ||
	    !json_object_is_type(v, json_type_int) || (ms = json_object_get_int64(v)) < 0 ||
	    ms > TEST_SLEEP_MAX_MS) {
		snprintf(r->err, sizeof(r->err), "test_sleep payload needs ms, 0..%d",
		         TEST_SLEEP_MAX_MS);
		return ERR_INVALID;
	}
	while ((slept = (util_now_usec() - t0) / 1000) < ms) {
		struct timespec ts = {0, 20 * 1000000L};

		if (run_lost(r)) {
			snprintf(r->err, sizeof(r->err), "lease lost after %lld ms",
			         (long long)slept);
			return ERR_UNAVAILABLE;
		}
		nanosleep(&ts, NULL);
	}
	r->result = json_object_new_object();
	json_object_object_add(r->result, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(r->result, "attempt", json_object_new_int(r->t->attempts));
	json_object_object_add(r->result, "started_ms", json_object_new_int64(started));
	json_object_object_add(r->result, "slept_ms", json_object_new_int64(slept));
	return ERR_OK;
}

/* ------------------------------------------------------------------ resumes */

/* The payload of compile and rating tasks (resumes.c enqueue): resume_id, user_id,
 * revision. */
static int resume_payload(struct run *r, const char **user_id, const char **resume_id)
{
	*user_id = payload_str(r->payload, "user_id");
	*resume_id = payload_str(r->payload, "resume_id");
	if (*user_id == NULL || *resume_id == NULL || !util_uuid_valid(*user_id) ||
	    !util_uuid_valid(*resume_id)) {
		snprintf(r->err, sizeof(r->err), "%s payload needs user_id and resume_id",
		         r->t->kind);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* load_resume: the resume as it is now (a compile of a changed resume gives the newest
 * text); a deleted resume fails the task for good. */
static int load_resume(struct run *r, const char *user_id, const char *id, struct resume *res)
{
	int rc = resumes_load(r->db, r->a, user_id, id, res);

	if (rc == ERR_NOT_FOUND) {
		snprintf(r->err, sizeof(r->err), "the resume no longer exists");
		return ERR_INVALID;
	}
	if (rc != ERR_OK)
		snprintf(r->err, sizeof(r->err), "database unavailable (%s)", err_name(rc));
	return rc;
}

/* run_compile: LaTeX (latex_resume escapes every user string) -> PDF in the sandbox
 * (compile.h) -> MEDRIN_FILES_DIR/resumes/{user}/{resume}.pdf -> resumes.pdf_path.
 * Result {"pdf_url", "bytes"}. */
static int run_compile(struct run *r)
{
	const char *user_id, *id, *rel, *dest;
	struct resume res;
	long bytes = 0;
	int rc;

	if ((rc = resume_payload(r, &user_id, &id)) != ERR_OK ||
	    (rc = load_resume(r, user_id, id, &res)) != ERR_OK)
		return rc;
	rel = arena_printf(r->a, "resumes/%s/%s.pdf", user_id, id);
	dest = arena_printf(r->a, "%s/%s", r->cfg->files_dir, rel);
	rc = compile_tex(r->cfg, r->a, arena_printf(r->a, "resume-%s", r->t->id),
	                 latex_resume(r->a, &res), dest, &bytes, r->err);
	if (rc != ERR_OK)
		return rc;
	if (run_lost(r))
		return ERR_UNAVAILABLE;
	rc = resumes_set_pdf(r->db, r->a, user_id, id, rel);
	if (rc == ERR_NOT_FOUND) {
		unlink(dest);
		snprintf(r->err, sizeof(r->err), "the resume was deleted during the compile");
		return ERR_INVALID;
	}
	if (rc != ERR_OK) {
		snprintf(r->err, sizeof(r->err), "database unavailable (%s)", err_name(rc));
		return rc;
	}
	r->result = json_object_new_object();
	json_object_object_add(
	    r->result, "pdf_url",
	    json_object_new_string(arena_printf(r->a, "/api/v1/resumes/%s/pdf", id)));
	json_object_object_add(r->result, "bytes", json_object_new_int64(bytes));
	return ERR_OK;
}

static int rating_stop(void *arg)
{
	return run_lost(arg);
}

/* run_rating: the resume's text to the Gemini-compatible endpoint (rating.h); the
 * validated reply is the result. */
static int run_rating(struct run *r)
{
	const char *user_id, *id;
	struct resume res;
	int rc;

	if ((rc = resume_payload(r, &user_id, &id)) != ERR_OK ||
	    (rc = load_resume(r, user_id, id, &res)) != ERR_OK)
		return rc;
	return rating_request(r->cfg, r->a, resumes_text(r->a, &res), &r->result, r->err,
	                      rating_stop, r);
}

/* run_test_tex ({"tex": document}) compiles a raw document in the same sandbox: the way
 * tests/api/test_compile.py makes TeX loop forever (no resume can: every user string is
 * escaped). Test stacks only, like test_sleep. */
static int run_test_tex(struct run *r)
{
	const char *tex = payload_str(r->payload, "tex");
	const char *dest;
	long bytes = 0;
	int rc;

	if (tex == NULL) {
		snprintf(r->err, sizeof(r->err), "test_tex payload needs tex");
		return ERR_INVALID;
	}
	dest = arena_printf(r->a, "%s/test/%s.pdf", r->cfg->files_dir, r->t->id);
	rc = compile_tex(r->cfg, r->a, arena_printf(r->a, "test-%s", r->t->id), tex, dest, &bytes,
	                 r->err);
	if (rc != ERR_OK)
		return rc;
	r->result = json_object_new_object();
	json_object_object_add(r->result, "bytes", json_object_new_int64(bytes));
	return ERR_OK;
}

/* A compile's lease outlives its time limit (MEDRIN_COMPILE_TIMEOUT_SECONDS) by 10 s, so
 * even a heartbeat that stalls cannot hand a running compile to another worker. */
static int compile_lease(const struct config *cfg)
{
	return cfg->compile_timeout_s + 10;
}

/* The kind table. To add a kind: write its run function (above) and add a row; nothing
 * else changes (claim, lease, heartbeat, retries and recording are shared). The lease
 * only bounds how long a dead worker keeps a task (it is renewed every lease/3 while the
 * task runs), so it can stay short even for long kinds; max_attempts is applied when a
 * task is claimed (tasks_claim). Names: [a-z0-9_-]+.
 * lease: when not NULL, the lease is computed from the configuration
 * (policy.lease_seconds is then ignored). */
struct kind {
	struct task_policy policy; /* kind, lease_seconds, max_attempts */
	int (*run)(struct run *r);
	int test_only; /* only with MEDRIN_TEST_ROUTES=1 (never in production) */
	int (*lease)(const struct config *cfg);
};

static const struct kind kind_table[] = {
    /* mail: retried over MEDRIN_MAIL_RETRY_HOURS (run_one), not a number of attempts */
    {{"mail", 60, 100000}, run_mail, 0, NULL},
    {{"reminder", 60, 8}, run_reminder, 0, NULL},
    {{"test_sleep", 3, 3}, run_test_sleep, 1, NULL},
    {{"compile", 0, 3}, run_compile, 0, compile_lease},
    {{"rating", 120, 5}, run_rating, 0, NULL},
    {{"test_tex", 0, 1}, run_test_tex, 1, compile_lease},
};

#define KIND_COUNT (sizeof(kind_table) / sizeof(kind_table[0]))

/* The kinds this process runs (test-only ones left out unless enabled), and the same as
 * the policy array tasks_claim takes. */
struct kinds {
	const struct kind *k[KIND_COUNT];
	struct task_policy policy[KIND_COUNT];
	size_t n;
};

static void kinds_init(struct kinds *ks, const struct config *cfg)
{
	ks->n = 0;
	for (size_t i = 0; i < KIND_COUNT; i++) {
		if (kind_table[i].test_only && !(cfg->test_routes && cfg->dev_mode))
			continue;
		ks->k[ks->n] = &kind_table[i];
		ks->policy[ks->n] = kind_table[i].policy;
		if (kind_table[i].lease != NULL)
			ks->policy[ks->n].lease_seconds = kind_table[i].lease(cfg);
		ks->n++;
	}
}

static const struct kind *kinds_find(const struct kinds *ks, const char *kind)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->k[i]->policy.kind, kind) == 0)
			return ks->k[i];
	return NULL;
}

static void json_put(void *p)
{
	json_object_put(p);
}

/* ------------------------------------------------------------------ the loop */

/* run_one claims and runs one task. Returns ERR_OK when one ran (whatever its outcome),
 * ERR_NOT_FOUND when none is due, ERR_UNAVAILABLE (or another error) when the database
 * failed. */
static int run_one(const struct config *cfg, const struct kinds *ks, struct heartbeat *hb,
                   struct db *db, struct arena *a)
{
	struct run r;
	const struct kind *k;
	struct task t;
	int64_t t0;
	int rc, outcome;

	rc = tasks_claim(db, a, ks->policy, ks->n, &t);
	if (rc)
		return rc;
	if (strcmp(t.kind, "mail") == 0) /* a mail queue retries for hours */
		t.retry_window_seconds = cfg->mail_retry_hours * 3600;
	t0 = util_now_usec();
	log_info("task %s (%s) attempt %d/%d started (lease %d s)", t.id, t.kind, t.attempts,
	         t.max_attempts, t.lease_seconds);
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.a = a;
	r.t = &t;
	r.hb = hb;
	r.db = db;
	k = kinds_find(ks, t.kind);

	if (t.attempts > t.max_attempts) {
		/* Only a task whose lease ran out again and again gets here: a worker died on
		 * it every time. Do not run it once more. */
		snprintf(r.err, sizeof(r.err), "lease expired on every attempt");
		outcome = ERR_INVALID;
	} else if (k == NULL) {
		/* The kind is stored as given; error_cut (tasks.c) cleans what is stored, and
		 * log lines escape it. */
		snprintf(r.err, sizeof(r.err),
		         "unknown task kind '%.64s' (not in this worker's "
		         "kind table)",
		         t.kind);
		outcome = ERR_INVALID;
	} else if ((r.payload = parse_payload(a, t.payload_json)) == NULL) {
		snprintf(r.err, sizeof(r.err), "payload is not a JSON object");
		outcome = ERR_INVALID;
	} else if (hb_start(hb, &t) != ERR_OK) {
		/* Never run without a heartbeat: a long task would be run twice. */
		snprintf(r.err, sizeof(r.err), "cannot start the lease heartbeat");
		outcome = ERR_UNAVAILABLE;
	} else {
		outcome = k->run(&r);
		arena_defer(a, json_put, r.result);
		if (hb_stop(hb)) {
			log_warn("task %s (%s) attempt %d: lease lost while running; outcome not "
			         "recorded (the new owner records it)",
			         t.id, t.kind, t.attempts);
			return ERR_OK;
		}
	}

	if (outcome == ERR_OK)
		rc = tasks_succeed(db, a, &t,
		                   r.result != NULL ? json_object_to_json_string_ext(
		                                          r.result, JSON_C_TO_STRING_PLAIN)
		                                    : NULL);
	else if (outcome == ERR_INVALID)
		rc = tasks_fail_permanently(db, a, &t, r.err);
	else
		rc = tasks_fail(db, a, &t, r.err);

	if (outcome == ERR_OK)
		log_info("task %s (%s) succeeded in %lld ms", t.id, t.kind,
		         (long long)((util_now_usec() - t0) / 1000));
	else
		log_warn("task %s (%s) attempt %d: %s", t.id, t.kind, t.attempts, r.err);
	if (rc == ERR_CONFLICT) {
		log_warn("task %s: lease lost to another worker; outcome not recorded", t.id);
		rc = ERR_OK;
	}
	return rc;
}

static void usage(FILE *f)
{
	fputs("usage: medrin-worker [--once]\n"
	      "  Runs queued tasks (mail, ...) from PostgreSQL until SIGTERM/SIGINT.\n"
	      "  --once  run every task that is due now, then exit\n"
	      "Configuration: environment variables (medrinctl config check).\n",
	      f);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct buf errs;
	struct db *db = NULL;
	struct arena *a = NULL;
	struct heartbeat hb = {0};
	struct kinds ks;
	PGconn *lconn = NULL;
	sigset_t block, waitmask;
	struct sigaction sa;
	int once = 0, cfg_loaded = 0, curl_ok = 0, backoff = 1, exit_code = 0;
	int ready = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			once = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	log_init("medrin-worker", getenv("MEDRIN_LOG_LEVEL"));
	buf_init(&errs, NULL, 16384);
	rc = config_load(&cfg, &errs);
	if (rc) {
		fprintf(stderr, "medrin-worker: invalid configuration:\n%s", buf_str(&errs));
		log_error("invalid configuration: refusing to start");
		buf_free(&errs);
		return 2; /* as medrin-fcgi and medrinctl: 2 is a configuration error */
	}
	buf_free(&errs);
	cfg_loaded = 1;
	log_init("medrin-worker", cfg.log_level);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl initialisation failed");
		exit_code = 1;
		goto out;
	}
	curl_ok = 1;

	/* Stop signals only arrive inside ppoll (waitmask), never in the middle of a task. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* After the signal mask: the heartbeat threads inherit it. */
	if (hb_init(&hb, &cfg) != ERR_OK) {
		log_error("heartbeat initialisation failed");
		exit_code = 1;
		goto out;
	}
	kinds_init(&ks, &cfg);
	db = db_new(cfg.database_url, cfg.db_statement_timeout_ms, cfg.db_connect_timeout_s,
	            cfg.db_io_timeout_ms);
	if (tasks_register(db) != ERR_OK || resumes_register(db) != ERR_OK ||
	    jobs_register(db) != ERR_OK) {
		log_error("the task statements were refused at registration");
		exit_code = 1;
		goto out;
	}
	a = arena_new(0);
	{
		char *names = arena_strdup(a, "");

		for (size_t i = 0; i < ks.n; i++)
			names = arena_printf(a, "%s%s%s (lease %d s, %d attempts)", names,
			                     i ? ", " : "", ks.policy[i].kind,
			                     ks.policy[i].lease_seconds, ks.policy[i].max_attempts);
		log_info("started (%s, poll %d s; kinds: %s)", once ? "once" : "loop",
		         cfg.worker_poll_seconds, names);
		arena_reset(a);
	}

	while (!stop_requested) {
		double wait = cfg.worker_poll_seconds > 0 ? cfg.worker_poll_seconds : 5;
		double due;

		/* LISTEN before looking for work: a task queued after the last claim found
		 * nothing is then always announced on this connection. */
		if (!once && lconn == NULL) {
			lconn = listen_open(&cfg);
			if (lconn == NULL) {
				rc = ERR_UNAVAILABLE;
				goto db_down;
			}
		}
		if (lconn != NULL && listen_drain(lconn) < 0) {
			log_warn("listen connection lost");
			PQfinish(lconn);
			lconn = NULL;
			continue;
		}
		do {
			rc = run_one(&cfg, &ks, &hb, db, a);
			arena_reset(a);
		} while (rc == ERR_OK && !stop_pending());
		if (rc != ERR_NOT_FOUND && rc != ERR_OK)
			goto db_down;
		backoff = 1;
		if (!ready) {
			ready = 1;
			notify("READY=1");
		}
		if (once || stop_pending())
			break;
		rc = tasks_next_due(db, a, &due);
		arena_reset(a);
		if (rc == ERR_OK && due < wait)
			wait = due < 0.05 ? 0.05 : due;
		else if (rc != ERR_OK && rc != ERR_NOT_FOUND)
			goto db_down;
		if (wait_fd(PQsocket(lconn), wait, &waitmask) < 0)
			log_warn("poll failed: %s", strerror(errno));
		continue;
	db_down:
		if (once) {
			log_error("database unavailable: %s", err_name(rc));
			exit_code = 1;
			break;
		}
		log_warn("database unavailable (%s): retry in %d s", err_name(rc), backoff);
		if (lconn != NULL) {
			PQfinish(lconn);
			lconn = NULL;
		}
		wait_fd(-1, backoff, &waitmask);
		backoff = backoff * 2 > BACKOFF_MAX_SECONDS ? BACKOFF_MAX_SECONDS : backoff * 2;
	}

	notify("STOPPING=1");
	log_info("stopping");
out:
	PQfinish(lconn);
	if (a != NULL)
		arena_free(a);
	if (db != NULL)
		db_free(db);
	hb_free(&hb);
	if (curl_ok)
		curl_global_cleanup();
	if (cfg_loaded)
		config_free(&cfg);
	return exit_code;
}
