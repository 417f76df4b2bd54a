/* sessions.h - login sessions, refresh-token rotation and the access-token blocklist.
 *
 * Everything lives in Redis (keys through rds_key, so they carry the configured prefix)
 * and changes only inside Lua scripts, so every host sees the same state at once:
 *   sess:{sid}           hash {user_id, role, created_at, last_used_at, user_agent, ip,
 *                        cur, prev, prev_until, grace}; TTL = refresh-token lifetime,
 *                        extended on every rotation but never past created_at +
 *                        MEDRIN_SESSION_MAX_DAYS (the absolute lifetime: a rotation of
 *                        an older session deletes it)
 *   pw_changed:{uid}     Redis time (us) of the user's last password change, for
 *                        SESSIONS_PW_MARK_SECONDS (sessions_password_changed)
 *   user_sess:{user_id}  sorted set of the user's sids, scored by creation time (us),
 *                        at most MEDRIN_SESSIONS_MAX members (the create script revokes
 *                        the oldest); a plain set left by older code is converted lazily
 *   role_set:{user_id}   the role sessions_set_role just set, for 60 s
 *   bl:{jti}             present while a logged-out access token would still be valid
 * A session's refresh tokens form one family: only `cur` may be rotated; `prev` is
 * honoured for MEDRIN_REFRESH_GRACE_SECONDS (a client retrying the same refresh gets the
 * same new pair, kept in `grace`); anything else is theft and deletes the session.
 * An access token is valid only while its session exists and its jti is not blocklisted;
 * requests are authorised with the role stored in the session, not the token's claim.
 * See docs/internals/auth.md.
 */
#ifndef MEDRIN_SESSIONS_H
#define MEDRIN_SESSIONS_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

struct arena;
struct rds;
struct config;
struct token_keys;
struct token_claims;

/* A freshly issued (or, in the grace window, re-served) token pair. Arena strings. */
struct session_tokens {
	const char *access;
	const char *refresh;
	const char *sid;
	int64_t expires_in; /* access-token lifetime in seconds */
};

enum session_rotation {
	SESSION_ROTATED, /* the presented token was current: new pair issued */
	SESSION_GRACE,   /* a retry within the grace window: the same new pair again */
	SESSION_REUSED,  /* an already-used token: the session was deleted */
	SESSION_GONE     /* no such session (expired, logged out, revoked) */
};

/* One live session as listed by sessions_list. Arena strings. */
struct session_info {
	const char *id;
	int64_t created_at, last_used_at; /* unix seconds */
	const char *user_agent;
	const char *ip;
};

/* sessions_init registers the Lua scripts with the Redis handle (services.c, once per
 * worker). ERR_INVALID when the handle refuses one. */
int sessions_init(struct rds *r) MUSTCHECK;

/* sessions_create starts a session for user_id and issues its first token pair.
 * user_agent (cut to 200 bytes) and ip may be NULL. When the user already has
 * cfg->sessions_max live sessions, the oldest are revoked so that at most that many remain
 * with the new one. role is stored with the session and signed into the access token (a
 * role set by sessions_set_role in the last 60 s wins over it). ERR_UNAVAILABLE when
 * Redis is down, ERR_INTERNAL when signing fails. */
int sessions_create(struct rds *r, const struct config *cfg, const struct token_keys *k,
                    struct arena *a, const char *user_id, const char *role, const char *user_agent,
                    const char *ip, struct session_tokens *out) MUSTCHECK;

/* How long the password-changed mark outlives a change: longer than any sign-in takes
 * from reading the hash to creating the session. */
#define SESSIONS_PW_MARK_SECONDS 86400

/* sessions_create_since is sessions_create for a sign-in that checked a password: read_at
 * is the Redis time in microseconds (decimal) taken before the password hash was read
 * (NULL: no check, e.g. a new account). ERR_CONFLICT (nothing created) when the password
 * changed after read_at (sessions_password_changed): the caller read the old hash. */
int sessions_create_since(struct rds *r, const struct config *cfg, const struct token_keys *k,
                          struct arena *a, const char *user_id, const char *role,
                          const char *user_agent, const char *ip, const char *read_at,
                          struct session_tokens *out) MUSTCHECK;

/* sessions_password_changed is what every path that changes a password (reset, change)
 * calls AFTER its commit: it marks the change (pw_changed:{uid}) and deletes every
 * session of the user in one script, so no session created with the old password
 * survives: one made earlier is deleted here, one whose sign-in read the old hash but
 * comes later is refused by sessions_create_since. *count (may be NULL) gets the number
 * deleted. ERR_UNAVAILABLE when Redis is down. */
int sessions_password_changed(struct rds *r, struct arena *a, const char *user_id,
                              int *count) MUSTCHECK;

/* sessions_check is the per-request check of an access token that already verified:
 * ERR_OK when its jti is not blocklisted and session sid of user_id exists (and
 * last_used_at is refreshed at most once a minute), ERR_UNAUTHORIZED otherwise,
 * ERR_UNAVAILABLE when Redis is down (callers fail closed). One round trip, which also
 * reads the user cache entry at user_cache_key (users.h): *cached_user gets its JSON
 * text (arena) or NULL when there is none. *role gets the role stored with the session
 * (arena; "user" when the field is missing): authorise with it, never with the token's
 * role claim, so a role change (sessions_set_role) counts from the next request. */
int sessions_check(struct rds *r, struct arena *a, const char *user_id, const char *sid,
                   const char *jti, const char *user_cache_key, const char **role,
                   const char **cached_user) MUSTCHECK;

/* sessions_set_role sets the stored role of every live session of user_id (stale set
 * members are dropped on the way), so the change takes effect on that user's very next
 * request on every host. Call it after the new role is committed to PostgreSQL: for
 * ROLE_SETTLE_SECONDS (60) afterwards a sign-in or refresh that read the old role signs
 * its tokens with this one instead. ERR_INVALID for a NULL or empty role,
 * ERR_UNAVAILABLE when Redis is down. */
int sessions_set_role(struct rds *r, struct arena *a, const char *user_id,
                      const char *role) MUSTCHECK;

/* sessions_rotate spends the verified refresh token `refresh` (typ refresh) and reports
 * what happened in *outcome; on SESSION_ROTATED / SESSION_GRACE *out holds the pair to
 * return. role (re-read from PostgreSQL by the caller) goes into the new access token and
 * is stored with the session; when sessions_set_role set a different role in the last
 * ROLE_SETTLE_SECONDS, that newer role is used for both instead. ERR_UNAVAILABLE,
 * ERR_INTERNAL. */
int sessions_rotate(struct rds *r, const struct config *cfg, const struct token_keys *k,
                    struct arena *a, const struct token_claims *refresh, const char *role,
                    struct session_tokens *out, enum session_rotation *outcome) MUSTCHECK;

/* sessions_revoke deletes session sid when it belongs to user_id. When block_jti is not
 * NULL and block_ttl > 0, that access-token jti is blocklisted for block_ttl seconds in the
 * same step (logout). ERR_NOT_FOUND when the session is not the user's or does not exist,
 * ERR_UNAVAILABLE. */
int sessions_revoke(struct rds *r, struct arena *a, const char *user_id, const char *sid,
                    const char *block_jti, int64_t block_ttl) MUSTCHECK;

/* sessions_revoke_all deletes every session of user_id; *count (may be NULL) gets how
 * many. O(cap): the user's set never holds more than MEDRIN_SESSIONS_MAX. ERR_UNAVAILABLE. */
int sessions_revoke_all(struct rds *r, struct arena *a, const char *user_id, int *count) MUSTCHECK;

/* Largest page sessions_list serves. */
#define SESSIONS_LIST_MAX 100

/* sessions_list returns one page of the user's live sessions, newest first, in an arena
 * array. cursor is NULL for the first page, else the *next_cursor of the previous page (an
 * opaque string); limit is 1..SESSIONS_LIST_MAX (the caller validates; the API default is
 * 20). *next_cursor (arena) is NULL on the last page. Pages are a keyset on the creation
 * order, not offsets: sessions created between two pages never repeat or hide one (they
 * are newer than every cursor, so they appear only on a new first page). Stale set
 * members (expired sessions) are dropped on the way. The user's set holds at most
 * MEDRIN_SESSIONS_MAX members, so a page costs O(cap). ERR_INVALID for a malformed
 * cursor or a limit out of range, ERR_UNAVAILABLE. */
int sessions_list(struct rds *r, struct arena *a, const char *user_id, const char *cursor,
                  int limit, struct session_info **items, size_t *n,
                  const char **next_cursor) MUSTCHECK;

#endif
