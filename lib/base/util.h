/* util.h - small pure helpers shared by every layer. */
#ifndef MEDRIN_UTIL_H
#define MEDRIN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "base/err.h"

struct arena;

/* Out of memory is not an error callers handle (conventions.md): these write one line to
 * stderr and abort, and the master starts a new worker. */
__attribute__((noreturn)) void util_oom(void);
void *util_xmalloc(size_t n);
void *util_xrealloc(void *p, size_t n);
char *util_xstrdup(const char *s);

/* The value of one hex digit (either case), or -1. */
int util_hexval(int c);

/* The length of the longest prefix of s (strlen(s) bytes) that is at most max bytes and
 * does not end inside a UTF-8 sequence. */
size_t util_utf8_cut(const char *s, size_t max);

/* Monotonic clock in microseconds; wall clock in seconds. */
int64_t util_now_usec(void);
int64_t util_wall_sec(void);

/* Formats t (UTC) as RFC 3339 "2026-11-21T10:00:00Z" into the arena. */
char *util_rfc3339(struct arena *a, time_t t);

/* Strict integer parse of the whole string; ERR_INVALID on junk or overflow. */
int util_parse_long(const char *s, long min, long max, long *out) MUSTCHECK;

/* Constant-time comparison of two equal-length byte strings (CRYPTO_memcmp). Returns 1
 * when equal. Different lengths compare unequal (the length is not secret). */
int util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Lower-cases and trims ASCII white space of an email address into the arena. */
char *util_normalize_email(struct arena *a, const char *email);
/* Syntactic check for a plausible address: local@domain.tld, length <= 254, printable
 * ASCII only (no spaces, controls, invisible or other non-ASCII characters: an
 * internationalised address is refused, a domain is given in its xn-- form). */
int util_email_valid(const char *email);
/* UUID text check (8-4-4-4-12 hex). */
int util_uuid_valid(const char *s);

/* Decodes one URL query parameter (first occurrence) into the arena; NULL when absent. */
char *util_query_param(struct arena *a, const char *query, const char *name);

#endif
