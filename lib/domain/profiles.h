/* profiles.h - the job board's profiles (tables jobseekers, employers; migration 0003):
 * api.md "Profiles".
 *
 * A profile belongs to one user (one of each kind at most, 409 "profile_exists") and only
 * to an account of the matching account_type (403 "account_type_mismatch"). Jobseeker
 * profiles are read by their owner, employers, staff and admins (anyone else: 404);
 * employer profiles by any signed-in user. Inputs arrive validated by the handler
 * (lengths, dob a past date, phone E.164); NULL means "not given" (unchanged on update),
 * "" clears an optional text field, dob_set with dob NULL clears the date.
 */
#ifndef MEDRIN_PROFILES_H
#define MEDRIN_PROFILES_H

#include <stddef.h>
#include "base/err.h"
#include "domain/ctx.h"

#define PROFILES_LIST_MAX 100

struct jobseeker {
	const char *id, *user_id;
	const char *first_name, *last_name, *location, *phone;
	const char *dob; /* YYYY-MM-DD or NULL */
	const char *created_at, *updated_at;
};

struct jobseeker_in {
	const char *first_name, *last_name, *location, *phone, *dob;
	int dob_set;
};

struct employer {
	const char *id, *user_id;
	const char *name, *location, *description, *mission, *vision;
	const char *created_at, *updated_at;
};

struct employer_in {
	const char *name, *location, *description, *mission, *vision;
};

struct employers_page {
	struct employer *items;
	size_t n;
	const char *next_cursor;
};

int profiles_register(struct db *db) MUSTCHECK;

/* create: the caller's profile (first_name/last_name or name required). ERR_DENIED
 * "account_type_mismatch", ERR_CONFLICT "profile_exists". me / update_me:
 * ERR_NOT_FOUND when the caller has none. get: ERR_NOT_FOUND (also not allowed to see). */
int jobseekers_create(struct ctx *c, const struct jobseeker_in *in,
                      struct jobseeker *out) MUSTCHECK;
int jobseekers_me(struct ctx *c, struct jobseeker *out) MUSTCHECK;
int jobseekers_update_me(struct ctx *c, const struct jobseeker_in *in,
                         struct jobseeker *out) MUSTCHECK;
int jobseekers_get(struct ctx *c, const char *id, struct jobseeker *out) MUSTCHECK;

int employers_create(struct ctx *c, const struct employer_in *in, struct employer *out) MUSTCHECK;
int employers_me(struct ctx *c, struct employer *out) MUSTCHECK;
int employers_update_me(struct ctx *c, const struct employer_in *in,
                        struct employer *out) MUSTCHECK;
int employers_get(struct ctx *c, const char *id, struct employer *out) MUSTCHECK;
/* One page, newest first; ERR_INVALID (field "cursor") for a bad cursor. */
int employers_list(struct ctx *c, const char *cursor, int limit,
                   struct employers_page *out) MUSTCHECK;

#endif
