/* audit.c - the audit_log table; see audit.h.
 *
 * audit_record must not fail the request. Inside a caller's transaction a failed INSERT
 * would abort that transaction, so every value is made acceptable before it is sent:
 * a user id that is not a UUID becomes NULL, free-text fields (email, ip, user agent:
 * all client-controlled) keep printable ASCII only and are cut to a bound, so neither
 * invalid UTF-8 nor a huge header can make PostgreSQL refuse the row.
 */
#include "domain/audit.h"

#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/record.h"
#include "domain/ctx.h"
#include "base/util.h"
#include "store/db.h"

#define AUDIT_EMAIL_MAX 254
#define AUDIT_IP_MAX 64
#define AUDIT_UA_MAX 512
#define AUDIT_EVENT_MAX 64

static const struct db_stmt audit_stmts[] = {
    {"audit_insert",
     "INSERT INTO audit_log (user_id, email, event, ip, user_agent, detail) "
     "VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::text, "
     "COALESCE(jsonb_object($6::text[]), '{}'::jsonb))",
     6},
};

int audit_register(struct db *db)
{
	return db_register(db, audit_stmts, sizeof(audit_stmts) / sizeof(audit_stmts[0]));
}

/* clean copies s into the arena, at most max bytes, with every byte outside printable
 * ASCII replaced by '?'. NULL or "" gives NULL (SQL NULL). */
static const char *clean(struct arena *a, const char *s, size_t max)
{
	size_t n;
	char *c;

	if (s == NULL || *s == '\0')
		return NULL;
	n = strnlen(s, max);
	c = arena_strndup(a, s, n);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return c;
}

void audit_record(struct ctx *c, const char *event, const char *user_id, const char *email,
                  const struct record *detail)
{
	const char *params[6];
	const char *ev = clean(c->arena, event, AUDIT_EVENT_MAX);
	int rc;

	if (ev == NULL) {
		log_error("audit: event without a name not recorded");
		return;
	}
	params[0] = user_id != NULL && util_uuid_valid(user_id) ? user_id : NULL;
	params[1] = clean(c->arena, email, AUDIT_EMAIL_MAX);
	params[2] = ev;
	params[3] = clean(c->arena, c->client.ip, AUDIT_IP_MAX);
	params[4] = clean(c->arena, c->client.user_agent, AUDIT_UA_MAX);
	/* detail is composed by our own code (event details, never a secret). */
	params[5] = detail != NULL && detail->n > 0 ? record_pg_array(c->arena, detail) : NULL;
	rc = db_exec(c->db, c->arena, "audit_insert", 6, params, NULL);
	if (rc)
		log_warn("audit: event %s not recorded: %s", ev, err_name(rc));
}

void audit_record1(struct ctx *c, const char *event, const char *user_id, const char *email,
                   const char *key, const char *value)
{
	struct record d;

	memset(&d, 0, sizeof d);
	if (record_set(&d, key, value) != ERR_OK)
		log_error("audit: detail of %s dropped", event);
	audit_record(c, event, user_id, email, &d);
}
