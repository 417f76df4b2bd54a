/* users_manage.h - what a user does with their own account (users_self.c) and what staff
 * and admins do with everyone's (users_admin.c): api.md "Roles" and "Users".
 *
 * Rules (docs/users.md):
 *   - another user's object is public (id, names, account_type, created_at) to a plain
 *     user, whole to staff, admins and the owner; ids that are not UUIDs are not found;
 *   - only the owner and admins change or delete an account, only admins change a role;
 *   - no change may leave the system without an admin (409 "last_admin"): the admins'
 *     rows are locked in the transaction that demotes or deletes one, so two admins
 *     demoting each other at once cannot both succeed;
 *   - after every commit that changes a users row the user cache is dropped; a role
 *     change is copied into the user's live sessions (sessions_set_role) and a deletion
 *     revokes them all, so either counts from that user's very next request;
 *   - a new email address stays pending until the link mailed to it is opened (signed
 *     with SECRET_KEY, single use, EMAIL_CONFIRM_TTL seconds); the old address is told.
 */
#ifndef MEDRIN_USERS_MANAGE_H
#define MEDRIN_USERS_MANAGE_H

#include <stddef.h>
#include "base/err.h"
#include "domain/ctx.h"
#include "domain/users.h"

/* The columns users_view_fill reads (times as RFC 3339 UTC text). */
#define USERS_VIEW_COLS                                                               \
	"id::text, email, password_hash, first_name, last_name, role, account_type, " \
	"email_verified, login_otp, "                                                 \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "  \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "  \
	"pending_email"

#define EMAIL_CONFIRM_TTL 86400 /* a confirmation link works for 24 hours */
#define USERS_LIST_MAX 100

/* A user as the caller may see it: full = 0 means only the public fields may be shown. */
struct user_view {
	struct user u;
	const char *pending_email; /* NULL when no change is pending */
	int full;
};

/* A change to an account. NULL / -1: unchanged. */
struct users_patch {
	const char *first_name;
	const char *last_name;
	int login_otp;     /* 0, 1, or -1 */
	const char *email; /* normalised; equal to the current address cancels a pending one */
	const char *role;  /* user | staff | admin: admins only */
};

struct users_filter {
	const char *role;         /* NULL: any */
	const char *account_type; /* NULL: any */
	const char *q;            /* NULL: any; substring of email, first or last name */
	const char *cursor;       /* NULL: first page */
	int limit;                /* 1..USERS_LIST_MAX */
};

struct users_page {
	struct user_view *items;
	size_t n;
	const char *next_cursor; /* NULL on the last page */
};

int users_self_register(struct db *db) MUSTCHECK;
int users_admin_register(struct db *db) MUSTCHECK;

/* users_view_fill reads row `row` of a result whose columns are USERS_VIEW_COLS. */
struct pg_result;
void users_view_fill(struct arena *a, const struct pg_result *res, int row, struct user_view *out);

/* users_view_load reads one account (with pending_email); lock: FOR UPDATE (inside the
 * caller's transaction). ERR_NOT_FOUND (also for a malformed id), ERR_UNAVAILABLE. */
int users_view_load(struct ctx *c, const char *id, int lock, struct user_view *out) MUSTCHECK;

/* users_get: the account id as the caller may see it (out->full). ERR_NOT_FOUND. */
int users_get(struct ctx *c, const char *id, struct user_view *out) MUSTCHECK;

/* users_update applies p to account id (the caller's own or, for an admin, anyone's).
 * Errors: ERR_NOT_FOUND, ERR_DENIED "forbidden" (another's account) or
 * "role_change_forbidden" (not an admin), ERR_CONFLICT "last_admin", ERR_UNAVAILABLE. */
int users_update(struct ctx *c, const char *id, const struct users_patch *p,
                 struct user_view *out) MUSTCHECK;

/* users_delete deletes account id and everything it owns in one transaction, then
 * revokes every session. ERR_NOT_FOUND, ERR_DENIED, ERR_CONFLICT "last_admin". */
int users_delete(struct ctx *c, const char *id) MUSTCHECK;

/* users_list: one page, newest first. ERR_INVALID (field "cursor") for a bad cursor. */
int users_list(struct ctx *c, const struct users_filter *f, struct users_page *out) MUSTCHECK;

/* users_change_password checks current, stores new_pw (already policy-checked), revokes
 * every other session of the caller and mails a notice. ERR_INVALID (field
 * "current_password") when current is wrong (counted by the sign-in throttle),
 * ERR_LIMITED "login_throttled" (why.retry_after) while the caller's address must wait,
 * ERR_BUSY "server_busy". */
int users_change_password(struct ctx *c, const char *current, const char *new_pw) MUSTCHECK;

/* users_email_request (inside the caller's open transaction): makes a new link for the
 * pending address new_email of user_id (older links die) and queues its mail. */
int users_email_request(struct ctx *c, const char *user_id, const char *new_email) MUSTCHECK;

/* users_email_resend mails the caller's pending address a fresh link. ERR_CONFLICT
 * "no_pending_email" when nothing is pending, ERR_LIMITED "rate_limited". */
int users_email_resend(struct ctx *c) MUSTCHECK;

/* users_email_confirm spends a confirmation link: the pending address becomes the
 * account's (verified) and the old address is told. *email gets the new address.
 * ERR_INVALID "confirm_invalid" (forged, tampered, expired, used or superseded link),
 * ERR_CONFLICT "email_taken". */
int users_email_confirm(struct ctx *c, const char *token, const char **email) MUSTCHECK;

/* medrinctl: users_create_admin makes a verified admin account (ERR_CONFLICT
 * "email_taken"), users_promote sets the role of the account with that address
 * (ERR_NOT_FOUND, ERR_CONFLICT "last_admin"). Both audited. */
int users_create_admin(struct ctx *c, const char *email, const char *password,
                       struct user *out) MUSTCHECK;
int users_promote(struct ctx *c, const char *email, const char *role, struct user *out) MUSTCHECK;

#endif
