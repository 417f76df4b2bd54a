/* err.h - the one error convention of libmedrin.
 *
 * A function that can fail returns int: 0 (ERR_OK) on success or one of these negative
 * codes. Details (a message, a SQLSTATE) stay on the object the function worked on.
 */
#ifndef MEDRIN_ERR_H
#define MEDRIN_ERR_H

enum err {
	ERR_OK = 0,
	ERR_INVALID = -1,      /* bad input: caller's fault (validation, parse) */
	ERR_NOT_FOUND = -2,    /* no such object, or not the caller's */
	ERR_CONFLICT = -3,     /* unique violation, state conflict */
	ERR_UNAVAILABLE = -4,  /* a dependency (PostgreSQL, Redis, SMTP) is down or timed out */
	ERR_TOO_LARGE = -5,    /* a bound was exceeded (buffer, body) */
	ERR_DENIED = -6,       /* authenticated but not allowed */
	ERR_UNAUTHORIZED = -7, /* missing, invalid, expired or revoked credentials */
	ERR_LIMITED =
	    -8, /* the caller is rate-limited or blocked (429); see the object for retry-after */
	ERR_INTERNAL = -9, /* a bug or an unexpected library failure */
	ERR_BUSY = -10     /* this server is saturated (no hashing slot in time): 503, try again */
};

#define MUSTCHECK __attribute__((warn_unused_result))

/* err_name returns a static lower-case name ("unavailable") for logs. */
const char *err_name(int err);

#endif
