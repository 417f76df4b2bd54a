/* audit.h - the audit_log table: one row per security event.
 *
 * Events: "registered", "login_ok", "login_failed", "otp_blocked", "password_reset",
 * "password_changed", "sessions_revoked", "refresh_reused", "logout". detail is a small
 * JSON object with no secrets (never a password, code or token). Writing the audit row
 * must not fail the request: errors are logged and swallowed (audit_record returns void).
 */
#ifndef MEDRIN_AUDIT_H
#define MEDRIN_AUDIT_H

#include <json-c/json.h>

struct arena;
struct db;

int audit_register(struct db *db);
/* user_id and email may be NULL; ip and user_agent may be NULL. */
void audit_record(struct db *db, struct arena *a, const char *event, const char *user_id,
                  const char *email, const char *ip, const char *user_agent,
                  json_object *detail);

#endif
