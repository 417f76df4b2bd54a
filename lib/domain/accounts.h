/* accounts.h - the account flows: registration, verification, login and its OTP step,
 * refresh, logout, sessions, forgotten and reset passwords, the caller's own account.
 *
 * Each function is one use case. It owns the rules, the order of writes across Redis and
 * PostgreSQL, the transaction, the audit rows and the queued mail; it takes the request
 * context (domain/ctx.h) and plain C values and knows nothing of HTTP or JSON. On
 * failure it returns a negative enum err and leaves in c->why what a client needs (a
 * stable code such as "otp_invalid", retry_after, attempts_remaining); api_outcome turns
 * that into the answer. Emails are already normalised (util_normalize_email).
 *
 * Rules every flow keeps (docs/internals/auth.md):
 *   - no account enumeration: register, resend-otp and forget-password answer the same
 *     for a known and an unknown address, and count the same OTP request either way;
 *   - nothing half-made: what can fail on a read runs before the first write; a code is
 *     issued in Redis and its mail queued in PostgreSQL, and if the queueing fails the
 *     issue is refunded (otp_refund), so our failure costs the user no attempt;
 *   - a code is spent only together with the work it authorises;
 *   - the user cache is dropped after the commit that changed the row;
 *   - no secret (password, code, token) is logged or put in an audit row.
 */
#ifndef MEDRIN_ACCOUNTS_H
#define MEDRIN_ACCOUNTS_H

#include <stddef.h>
#include "base/err.h"
#include "domain/ctx.h"
#include "domain/sessions.h"
#include "domain/users.h"
#include "security/otp.h"

/* A sign-in: the account and its new (or, within the refresh grace window, re-served)
 * token pair. */
struct accounts_signin {
	struct user user;
	struct session_tokens tokens;
};

struct accounts_registration {
	const char *email;
	const char *password;   /* already checked against password_policy */
	const char *first_name; /* NULL: "" */
	const char *last_name;
	const char *account_type; /* jobseeker | employer | none; NULL: none */
};

enum accounts_login_step {
	ACCOUNTS_SIGNED_IN, /* out holds the sign-in */
	ACCOUNTS_CODE_SENT  /* a login code was mailed; verify it to sign in */
};

/* A page of the caller's sessions, newest first. */
struct accounts_sessions_page {
	struct session_info *items;
	size_t n;
	const char *next_cursor; /* NULL on the last page */
};

/* A registration waiting for its code: pending:register:{email} in Redis, a record
 * (base/record.h). registration_id is the opaque id /auth/register answered (NULL in
 * records written before it existed). */
struct accounts_pending {
	const char *registration_id;
	const char *password_hash;
	const char *first_name;
	const char *last_name;
	const char *account_type;
};

/* accounts_pending_decode reads a stored pending registration (len bytes of text).
 * ERR_INVALID when it is not a record or has no password_hash. Pure: fuzzed by
 * tests/fuzz/fuzz_record.c. */
int accounts_pending_decode(struct arena *a, const char *text, size_t len,
                            struct accounts_pending *out) MUSTCHECK;

/* accounts_authenticate checks an access token and the session it names, and fills
 * c->actor. ERR_UNAUTHORIZED (bad, expired, revoked), ERR_UNAVAILABLE (Redis down: the
 * caller fails closed). */
int accounts_authenticate(struct ctx *c, const char *access_token) MUSTCHECK;

/* accounts_register: a code is mailed (or, for an existing address, a notice; for a
 * second sign-up with another password, both are cancelled and the owner told). Always
 * the same answer: ERR_OK and the requests left in *attempts_remaining. Errors:
 * ERR_LIMITED "otp_blocked", ERR_BUSY "server_busy", ERR_UNAVAILABLE. */
int accounts_register(struct ctx *c, const struct accounts_registration *in,
                      int *attempts_remaining, const char **registration_id) MUSTCHECK;

/* What a verify-otp call proves besides the code. Register: registration_id (the id
 * /auth/register answered; it wins when given) or, for older clients, the password the
 * registration was made with. Login: challenge_id (optional; when given it must be the
 * live challenge's). NULL fields: not given. */
struct accounts_proof {
	const char *registration_id;
	const char *password;
	const char *challenge_id;
};

/* accounts_verify checks a code. OTP_MODULE_REGISTER creates the account and signs it in
 * (*created = 1) when proof matches the waiting registration (a code without the proof
 * is a wrong code); OTP_MODULE_LOGIN signs in when a login challenge is live (without one
 * the answer is a wrong code's and nothing is counted); OTP_MODULE_FORGETPASSWORD only
 * checks (the code is not spent: reset-password spends it) and leaves out untouched.
 * Errors:
 * ERR_INVALID "otp_invalid" (attempts_remaining), ERR_LIMITED "otp_blocked",
 * ERR_CONFLICT "email_taken", ERR_UNAVAILABLE. */
int accounts_verify(struct ctx *c, enum otp_module m, const char *email, const char *code,
                    const struct accounts_proof *proof, struct accounts_signin *out,
                    int *created) MUSTCHECK;

/* accounts_resend mails a new code when something waits for one (a registration, a
 * live login challenge, an account for forgetpassword) and counts the request either
 * way, except for a login without a challenge, which counts nothing. */
int accounts_resend(struct ctx *c, enum otp_module m, const char *email,
                    int *attempts_remaining) MUSTCHECK;

/* accounts_login checks the password (after the per-account throttle, throttle.h); with
 * login OTP on for the account a login challenge starts instead of a sign-in: a code is
 * mailed and *challenge_id set. Errors: ERR_UNAUTHORIZED "invalid_credentials",
 * ERR_LIMITED "login_throttled" (retry_after) or "otp_blocked", ERR_BUSY "server_busy",
 * ERR_UNAVAILABLE. */
int accounts_login(struct ctx *c, const char *email, const char *password,
                   enum accounts_login_step *step, int *attempts_remaining,
                   const char **challenge_id, struct accounts_signin *out) MUSTCHECK;

/* accounts_refresh rotates a refresh token. Errors: ERR_UNAUTHORIZED "unauthorized"
 * (bad token, ended session, deleted account) or "refresh_reused" (theft: the session
 * is revoked), ERR_UNAVAILABLE. */
int accounts_refresh(struct ctx *c, const char *refresh_token,
                     struct accounts_signin *out) MUSTCHECK;

/* The caller's sessions (c->actor must be set). */
int accounts_logout(struct ctx *c) MUSTCHECK;
int accounts_logout_all(struct ctx *c) MUSTCHECK;
int accounts_sessions(struct ctx *c, const char *cursor, int limit,
                      struct accounts_sessions_page *out) MUSTCHECK;
/* ERR_NOT_FOUND "not_found" when sid is not one of the caller's live sessions. */
int accounts_session_revoke(struct ctx *c, const char *sid) MUSTCHECK;

/* accounts_forget_password mails a reset code when the account exists; counted either
 * way. ERR_LIMITED "otp_blocked", ERR_UNAVAILABLE. */
int accounts_forget_password(struct ctx *c, const char *email) MUSTCHECK;

/* accounts_reset_password sets a new password with a forgetpassword code and revokes
 * every session. Errors as accounts_verify, and ERR_BUSY "server_busy". */
int accounts_reset_password(struct ctx *c, const char *email, const char *code,
                            const char *new_password) MUSTCHECK;

/* accounts_me: the caller's account, from the user cache the session check read, else
 * from PostgreSQL (and cached). ERR_UNAUTHORIZED when the account is gone. */
int accounts_me(struct ctx *c, struct user *out) MUSTCHECK;

#endif
