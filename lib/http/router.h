/* router.h - match a method and path against the static route table.
 *
 * Patterns are literal segments and "{name}" parameters: "/api/v1/jobs/{id}/notes".
 * A parameter matches one non-empty segment. Literal segments win over parameters
 * ("/jobs/stats" before "/jobs/{id}") whatever the table order. A trailing slash is not
 * significant. Matching allocates nothing; parameters point into the arena copy.
 *
 * Precisely: the path is split at '/' into segments; a literal pattern segment matches
 * the same bytes, a parameter matches any non-empty segment. Among the entries whose
 * pattern matches the path, those with a literal at the first position where they differ
 * win (the "resource"); the method then picks an entry of that resource, else 405 with
 * Allow listing the resource's methods. Only a full match allocates (parameter names and
 * percent-decoded values). A parameter whose value has a bad %-escape, or decodes to
 * something containing '/', NUL or invalid UTF-8, or to "." or "..", makes the path
 * not found. A pattern with more than ROUTER_MAX_PARAMS parameters never matches.
 */
#ifndef MEDRIN_ROUTER_H
#define MEDRIN_ROUTER_H

#include <stddef.h>

struct arena;

#define ROUTER_MAX_PARAMS 4

enum router_result { ROUTER_MATCH, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

struct router_entry {
	const char *method; /* "GET", "POST", ... */
	const char *pattern;
};

struct router_match {
	size_t index; /* index of the matched entry */
	size_t nparams;
	const char *names[ROUTER_MAX_PARAMS];  /* parameter names (arena copies, no braces) */
	const char *values[ROUTER_MAX_PARAMS]; /* arena copies, NUL-terminated, percent-decoded */
	char allow[96];                        /* for 405: "GET, HEAD, PUT, DELETE" */
};

/* router_match walks n entries spaced `stride` bytes apart, each starting with a struct
 * router_entry (so the api layer's route table is matched without copying). HEAD matches
 * GET routes (an explicit HEAD entry wins). Returns ROUTER_MATCH (m->index, params set),
 * ROUTER_METHOD_NOT_ALLOWED (m->allow set; HEAD listed whenever GET is) or
 * ROUTER_NOT_FOUND. m is fully (re)initialised. */
enum router_result router_match(const void *table, size_t n, size_t stride, const char *method,
                                const char *path, struct arena *a, struct router_match *m);

/* router_skip_fn: return non-zero to treat an entry as absent (e.g. test-only routes
 * when they are off). Gets the entry (the start of the table element) and ctx. */
typedef int router_skip_fn(const void *entry, void *ctx);

/* router_match_filter is router_match with entries for which skip() is non-zero left
 * out entirely: they neither match nor appear in Allow. skip may be NULL. */
enum router_result router_match_filter(const void *table, size_t n, size_t stride,
                                       const char *method, const char *path, struct arena *a,
                                       struct router_match *m, router_skip_fn *skip, void *ctx);

/* router_param returns the value of a named parameter of the match, or NULL. */
const char *router_param(const struct router_match *m, const char *name);

#endif
