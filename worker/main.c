/* main.c - medrin-worker: runs the tasks queued in PostgreSQL (docs/internals/tasks.md).
 *
 *   medrin-worker [--once]
 *
 * Loop: claim a due task (FOR UPDATE SKIP LOCKED, 60 s lease), run it by kind, record
 * success or failure (with back-off), repeat; when nothing is due, wait on a LISTEN
 * connection until NOTIFY medrin_tasks, the next task's due time, or
 * MEDRIN_WORKER_POLL_SECONDS, whichever is first. Any number of workers may run.
 * SIGTERM/SIGINT: the current task finishes, then exit 0. --once: run what is due, exit.
 *
 * Signals are blocked except while waiting (ppoll), so a stop request is never lost
 * between "check the flag" and "sleep", and never interrupts a task half-way.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
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
#include "base/util.h"
#include "domain/tasks.h"
#include "store/db.h"
#include "smtp.h"

#define LEASE_SECONDS 60
#define BACKOFF_MAX_SECONDS 30

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

/* notify sends one sd_notify datagram when NOTIFY_SOCKET is set; errors are ignored
 * (systemd then reports the start as timed out, which says enough). */
static void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t plen;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	plen = strlen(path);
	if (plen >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen)) < 0)
		log_debug("sd_notify failed: %s", strerror(errno));
	close(fd);
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

static const char *payload_str(json_object *payload, const char *key)
{
	json_object *v;

	if (payload == NULL || !json_object_object_get_ex(payload, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* run_mail sends a "mail" task. Returns 0, or the smtp_send error with errbuf set. */
static int run_mail(const struct config *cfg, struct arena *a, const struct task *t,
                    json_object **result, char *errbuf)
{
	const char *to = payload_str(t->payload, "to");
	const char *subject = payload_str(t->payload, "subject");
	const char *body = payload_str(t->payload, "body");
	int rc;

	if (to == NULL || subject == NULL || body == NULL) {
		snprintf(errbuf, SMTP_ERRBUF_SIZE, "mail payload needs string to, subject, body");
		return ERR_INVALID;
	}
	rc = smtp_send(cfg, to, subject, body, errbuf);
	if (rc == ERR_OK) {
		*result = json_object_new_object();
		json_object_object_add(*result, "sent_at",
		                       json_object_new_string(util_rfc3339(a, time(NULL))));
	}
	return rc;
}

static void json_put(void *p)
{
	json_object_put(p);
}

/* run_one claims and runs one task. Returns ERR_OK when one ran (whatever its outcome),
 * ERR_NOT_FOUND when none is due, ERR_UNAVAILABLE (or another error) when the database
 * failed. */
static int run_one(const struct config *cfg, struct db *db, struct arena *a)
{
	char errbuf[SMTP_ERRBUF_SIZE] = "";
	json_object *result = NULL;
	struct task t;
	int64_t t0;
	int rc, outcome;

	rc = tasks_claim(db, a, LEASE_SECONDS, &t);
	if (rc)
		return rc;
	t0 = util_now_usec();
	log_info("task %s (%s) attempt %d/%d started", t.id, t.kind, t.attempts, t.max_attempts);

	if (t.attempts > t.max_attempts) {
		/* Only a task whose lease ran out again and again gets here: a worker died on
		 * it every time. Do not run it once more. */
		snprintf(errbuf, sizeof(errbuf), "lease expired on every attempt");
		outcome = ERR_INVALID;
	} else if (t.payload == NULL || !json_object_is_type(t.payload, json_type_object)) {
		snprintf(errbuf, sizeof(errbuf), "payload is not a JSON object");
		outcome = ERR_INVALID;
	} else if (strcmp(t.kind, "mail") == 0) {
		outcome = run_mail(cfg, a, &t, &result, errbuf);
		arena_defer(a, json_put, result);
	} else {
		snprintf(errbuf, sizeof(errbuf), "unknown task kind");
		outcome = ERR_INVALID;
	}

	if (outcome == ERR_OK)
		rc = tasks_succeed(db, a, &t, result);
	else if (outcome == ERR_INVALID)
		rc = tasks_fail_permanently(db, a, &t, errbuf);
	else
		rc = tasks_fail(db, a, &t, errbuf);

	if (outcome == ERR_OK)
		log_info("task %s (%s) succeeded in %lld ms", t.id, t.kind,
		         (long long)((util_now_usec() - t0) / 1000));
	else
		log_warn("task %s (%s) attempt %d: %s", t.id, t.kind, t.attempts, errbuf);
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
		return 1;
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

	db = db_new(cfg.database_url, cfg.db_statement_timeout_ms, cfg.db_connect_timeout_s,
	            cfg.db_io_timeout_ms);
	if (tasks_register(db) != ERR_OK) {
		exit_code = 1;
		goto out;
	}
	a = arena_new(0);
	log_info("started (%s, poll %d s, lease %d s)", once ? "once" : "loop",
	         cfg.worker_poll_seconds, LEASE_SECONDS);

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
			rc = run_one(&cfg, db, a);
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
	if (curl_ok)
		curl_global_cleanup();
	if (cfg_loaded)
		config_free(&cfg);
	return exit_code;
}
