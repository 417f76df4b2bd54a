/* audit.h - the audit_log table: one row per security event.
 *
 * Events: "registered", "login_ok", "login_failed", "otp_blocked", "password_reset",
 * "password_changed", "sessions_revoked", "refresh_reused", "logout". detail is a small
 * record (base/record.h) stored as a jsonb object of strings, with no secrets (never a
 * password, code or token). Writing the audit row must not fail the request: errors are
 * logged and swallowed (audit_record returns void).
 */
#ifndef MEDRIN_AUDIT_H
#define MEDRIN_AUDIT_H

#include "base/err.h"

struct ctx;
struct db;
struct record;

/* audit_register adds the module's statement (services.c, once). */
int audit_register(struct db *db) MUSTCHECK;
/* audit_record writes one row with the context's client address and user agent.
 * user_id, email and detail may be NULL. */
void audit_record(struct ctx *c, const char *event, const char *user_id, const char *email,
                  const struct record *detail);
/* audit_record1 is audit_record with a one-field detail {key: value}. */
void audit_record1(struct ctx *c, const char *event, const char *user_id, const char *email,
                   const char *key, const char *value);

#endif
