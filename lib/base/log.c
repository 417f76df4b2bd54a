/* log.c - JSON log lines on stderr; see log.h. */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/buf.h"

static const char *log_prog = "medrin";
static enum log_level log_min = LOG_LVL_INFO;
static const char *log_req_id;
static pid_t log_pid; /* cached: one getpid() per process, not per line */

static void refresh_pid(void)
{
	log_pid = getpid();
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *prog, const char *level)
{
	static int atfork_done;

	if (!atfork_done) {
		/* Workers are forked after log_init: each child must log its own pid. */
		pthread_atfork(NULL, NULL, refresh_pid);
		atfork_done = 1;
	}
	refresh_pid();
	log_prog = prog;
	for (int i = 0; level != NULL && i < 4; i++)
		if (strcmp(level, level_names[i]) == 0)
			log_min = (enum log_level)i;
}

void log_set_request_id(const char *id)
{
	log_req_id = id;
}

/* emit writes one line with the common fields; `extra` is pre-rendered JSON members
 * (",\"k\":v…") or NULL. A line that does not fit the 8 KiB bound is cut at the
 * message, never left as broken JSON. */
static void emit(enum log_level lvl, const char *msg, const char *extra)
{
	char mem[8192];
	char ts[32];
	struct buf b = {.data = mem, .len = 0, .cap = sizeof(mem), .limit = sizeof(mem) - 1};
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	mem[0] = '\0';
	int rc = buf_printf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\",\"pid\":%d",
	                    ts, now.tv_nsec / 1000000, level_names[lvl], log_prog,
	                    (int)(log_pid ? log_pid : getpid()));

	if (rc == ERR_OK && log_req_id != NULL) {
		rc = buf_puts(&b, ",\"req\":");
		if (rc == ERR_OK)
			rc = buf_json_string(&b, log_req_id);
	}
	if (rc == ERR_OK)
		rc = buf_puts(&b, ",\"msg\":");
	if (rc == ERR_OK && buf_json_string(&b, msg) != ERR_OK)
		rc = buf_puts(&b, "\"(message too long)\"");
	if (rc == ERR_OK && extra != NULL && buf_puts(&b, extra) != ERR_OK)
		rc = ERR_OK; /* drop the extra fields rather than the line */
	if (rc == ERR_OK)
		rc = buf_puts(&b, "}\n");
	if (rc == ERR_OK)
		(void)!write(STDERR_FILENO, b.data, b.len);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(lvl, msg, NULL);
}

void log_access(const char *method, const char *route, int status, long usec)
{
	char extra[512];

	if (LOG_LVL_INFO < log_min)
		return;
	/* method and route come from our own route table or a fixed set, never the client's
	 * raw path, so they need no escaping beyond what snprintf gives. */
	snprintf(extra, sizeof(extra),
	         ",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"usec\":%ld", method, route,
	         status, usec);
	emit(LOG_LVL_INFO, "request", extra);
}
