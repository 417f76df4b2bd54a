/* users.h - user accounts (table users, migration 0001) and pending sign-ups in Redis.
 *
 * PostgreSQL holds accounts; every lookup takes an email that the caller has already
 * normalised (util_normalize_email: trimmed, lower-cased), matching the table's CHECK.
 * Redis holds what is short-lived: a registration waiting for its OTP
 * (pending:register:{email}) and a login waiting for its OTP (pending:login:{email}).
 * Nothing here knows HTTP; functions return 0 or a negative enum err (base/err.h).
 */
#ifndef MEDRIN_USERS_H
#define MEDRIN_USERS_H

#include "base/err.h"

struct arena;
struct db;
struct rds;

/* One row of users. Strings are arena copies (request lifetime); times are RFC 3339 UTC
 * text, rendered by PostgreSQL. password_hash is a PHC string: never log or render it. */
struct user {
	const char *id;
	const char *email;
	const char *password_hash;
	const char *first_name;
	const char *last_name;
	const char *role;         /* user | staff | admin */
	const char *account_type; /* jobseeker | employer | none */
	int email_verified;
	int login_otp;
	const char *created_at;
	const char *updated_at;
};

/* What a new account is made of (users_insert). */
struct users_new {
	const char *email;         /* normalised */
	const char *password_hash; /* PHC string */
	const char *first_name;    /* "" when not given */
	const char *last_name;
	const char *account_type; /* jobseeker | employer | none */
};

/* users_register adds this module's prepared statements (users_by_email, users_by_id,
 * users_insert, users_set_password, users_exists_email) to db (services.c, once).
 * ERR_INVALID when db refuses the table (a duplicate name). */
int users_register(struct db *db) MUSTCHECK;

/* users_by_email / users_by_id fill *out. ERR_NOT_FOUND when there is no such user
 * (users_by_id also for a malformed id), ERR_UNAVAILABLE when PostgreSQL is down,
 * ERR_INTERNAL otherwise. */
int users_by_email(struct db *db, struct arena *a, const char *email, struct user *out) MUSTCHECK;
int users_by_id(struct db *db, struct arena *a, const char *id, struct user *out) MUSTCHECK;

/* users_exists_email sets *exists to 1 or 0. ERR_UNAVAILABLE / ERR_INTERNAL. */
int users_exists_email(struct db *db, struct arena *a, const char *email, int *exists) MUSTCHECK;

/* users_insert creates a verified account (email_verified true, role user) and fills *out.
 * ERR_CONFLICT when the email is taken (unique index on lower(email)), ERR_INVALID when a
 * value breaks a CHECK, ERR_UNAVAILABLE / ERR_INTERNAL. */
int users_insert(struct db *db, struct arena *a, const struct users_new *nu,
                 struct user *out) MUSTCHECK;

/* users_set_password stores a new PHC hash and bumps updated_at. It does not touch the
 * user cache: the caller drops it (users_cache_drop) after its transaction commits, so a
 * concurrent read can not re-cache the old row. ERR_NOT_FOUND when the user is gone,
 * ERR_UNAVAILABLE / ERR_INTERNAL. */
int users_set_password(struct db *db, struct arena *a, const char *user_id,
                       const char *password_hash) MUSTCHECK;

/* The user cache: the account (never its hash) as a record (base/record.h) under
 * user:{id} in Redis for USERS_CACHE_TTL seconds, so the per-request session check can
 * read it in the same round trip (sessions_check) and /auth/me needs no PostgreSQL read.
 * Rule: whoever changes a users row drops the entry right AFTER the change commits
 * (users_cache_drop); the TTL only bounds what a failed drop could serve.
 * users_cache_key is the key (arena). users_cache_put stores u. users_cache_decode
 * reads an entry back: ERR_INVALID when it is not a complete record (then treat it as
 * absent). users_cache_drop logs a failure and returns nothing: the row did change. */
#define USERS_CACHE_TTL 300
char *users_cache_key(struct rds *r, struct arena *a, const char *user_id);
int users_cache_put(struct rds *r, struct arena *a, const struct user *u) MUSTCHECK;
int users_cache_decode(struct arena *a, const char *text, struct user *out) MUSTCHECK;
void users_cache_drop(struct rds *r, struct arena *a, const char *user_id);

/* --- pending operations in Redis: pending:{kind}:{email}, kind "register" or "login" --- */

/* users_pending_put stores value (a small JSON text, may be "1") with a TTL in seconds,
 * replacing any previous one. ERR_UNAVAILABLE when Redis is down. */
int users_pending_put(struct rds *r, struct arena *a, const char *kind, const char *email,
                      const char *value, int ttl) MUSTCHECK;
/* users_pending_get returns the stored value in *value (arena). ERR_NOT_FOUND when there
 * is none (never stored or expired), ERR_UNAVAILABLE. */
int users_pending_get(struct rds *r, struct arena *a, const char *kind, const char *email,
                      char **value) MUSTCHECK;
/* users_pending_touch resets the TTL of an existing entry. ERR_NOT_FOUND, ERR_UNAVAILABLE. */
int users_pending_touch(struct rds *r, struct arena *a, const char *kind, const char *email,
                        int ttl) MUSTCHECK;
/* users_pending_del removes the entry (absent is fine). ERR_UNAVAILABLE. */
int users_pending_del(struct rds *r, struct arena *a, const char *kind,
                      const char *email) MUSTCHECK;

#endif
