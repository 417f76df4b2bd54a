/* log.h - structured JSON log lines on stderr (journald / systemd collects them).
 *
 * One line per event: {"ts":"…","level":"info","prog":"medrin-fcgi","pid":123,
 * "req":"<request id>","msg":"…", …extra fields}. Never pass a secret, password, OTP,
 * token or SQL parameter to these functions: log statement names and ids, not values.
 */
#ifndef MEDRIN_LOG_H
#define MEDRIN_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* log_init sets the program name and minimum level ("debug", "info", "warn", "error"). */
void log_init(const char *prog, const char *level);
/* The request id attached to every line until cleared (NULL clears). Not copied: the
 * caller keeps it alive (the request arena does). */
void log_set_request_id(const char *id);

/* msg is a printf format; the result is JSON-escaped. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

/* log_access writes the one access line per request: method, route name (not the raw
 * path, which may carry ids but never secrets; the query string is never logged),
 * status and duration in microseconds. */
void log_access(const char *method, const char *route, int status, long usec);

#endif
