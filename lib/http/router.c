/* router.c - match a method and path against a static table; see router.h.
 *
 * The walk over the table compares bytes in place (no copy, no allocation): a path
 * that matches nothing, or matches with the wrong method, costs no memory. Only the
 * winning entry's parameters are copied and percent-decoded into the arena.
 */
#include "http/router.h"

#include <stdint.h>
#include <string.h>
#include "base/arena.h"
#include "base/util.h"
#include "http/http.h"

/* Methods the router knows, in the order Allow lists them. */
static const char *const known_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                            "PATCH", "DELETE", "OPTIONS"};
#define NKNOWN (sizeof(known_methods) / sizeof(known_methods[0]))
#define M_GET 0
#define M_HEAD 1

static int method_bit(const char *method)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (strcmp(method, known_methods[i]) == 0)
			return (int)i;
	return -1;
}

/* Length of s without one trailing slash ("/a/" -> 2, "/" stays 1). */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '/')
		n--;
	return n;
}

static int is_param(const char *seg, size_t len)
{
	return len >= 3 && seg[0] == '{' && seg[len - 1] == '}';
}

/* match_path reports whether pattern matches path[0..plen). *score gets a bit per
 * segment position (most significant = first segment) where the pattern has a
 * parameter, so that of two matching patterns the smaller score has a literal first. */
static int match_path(const char *pattern, const char *path, size_t plen, uint64_t *score)
{
	size_t qlen = trimmed_len(pattern);
	const char *q = pattern, *qend = pattern + qlen;
	const char *p = path, *pend = path + plen;
	uint64_t s = 0;
	size_t nparams = 0;

	if (qlen == 0 || *q != '/')
		return 0;
	for (unsigned i = 0;; i++) {
		/* q and p point at a '/' */
		const char *qs = q + 1, *ps = p + 1;
		const char *qe = memchr(qs, '/', (size_t)(qend - qs));
		const char *pe = memchr(ps, '/', (size_t)(pend - ps));

		if (qe == NULL)
			qe = qend;
		if (pe == NULL)
			pe = pend;
		size_t ql = (size_t)(qe - qs), pl = (size_t)(pe - ps);

		if (is_param(qs, ql)) {
			if (pl == 0 || ++nparams > ROUTER_MAX_PARAMS)
				return 0;
			s |= (uint64_t)1 << (63 - (i < 63 ? i : 63));
		} else if (ql != pl || memcmp(qs, ps, ql) != 0) {
			return 0;
		}
		if (qe == qend || pe == pend) {
			if (qe != qend || pe != pend)
				return 0;
			break;
		}
		q = qe;
		p = pe;
	}
	*score = s;
	return 1;
}

/* decode percent-decodes s[0..n) into the arena; NULL when the value is not acceptable
 * as one path parameter (bad escape, '/', NUL, bad UTF-8, "." or ".."). */
static const char *decode(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (n - i < 3 || util_hexval(s[i + 1]) < 0 || util_hexval(s[i + 2]) < 0)
			return NULL;
		out[o++] = (char)(util_hexval(s[i + 1]) * 16 + util_hexval(s[i + 2]));
		i += 2;
	}
	out[o] = '\0';
	if (memchr(out, '/', o) != NULL || memchr(out, '\0', o) != NULL)
		return NULL;
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		return NULL;
	if (!http_utf8_valid(out, o))
		return NULL;
	return out;
}

/* extract fills m's parameters from a pattern already known to match. */
static int extract(const char *pattern, const char *path, size_t plen, struct arena *a,
                   struct router_match *m)
{
	const char *q = pattern, *qend = pattern + trimmed_len(pattern);
	const char *p = path, *pend = path + plen;

	while (q < qend && p < pend) {
		const char *qs = q + 1, *ps = p + 1;
		const char *qe = memchr(qs, '/', (size_t)(qend - qs));
		const char *pe = memchr(ps, '/', (size_t)(pend - ps));

		if (qe == NULL)
			qe = qend;
		if (pe == NULL)
			pe = pend;
		size_t ql = (size_t)(qe - qs);

		if (is_param(qs, ql)) {
			const char *v = decode(a, ps, (size_t)(pe - ps));

			if (v == NULL)
				return -1;
			m->names[m->nparams] = arena_strndup(a, qs + 1, ql - 2);
			m->values[m->nparams] = v;
			m->nparams++;
		}
		q = qe;
		p = pe;
	}
	return 0;
}

static void build_allow(char *out, size_t size, unsigned methods)
{
	size_t o = 0;

	if (methods & (1u << M_GET))
		methods |= 1u << M_HEAD;
	out[0] = '\0';
	for (size_t i = 0; i < NKNOWN; i++) {
		if (!(methods & (1u << i)))
			continue;
		size_t len = strlen(known_methods[i]);

		if (o + len + 3 > size)
			break;
		if (o > 0) {
			memcpy(out + o, ", ", 2);
			o += 2;
		}
		memcpy(out + o, known_methods[i], len);
		o += len;
		out[o] = '\0';
	}
}

enum router_result router_match_filter(const void *table, size_t n, size_t stride,
                                       const char *method, const char *path, struct arena *a,
                                       struct router_match *m, router_skip_fn *skip, void *ctx)
{
	uint64_t best = UINT64_MAX;
	int found = 0;
	unsigned methods = 0; /* bits of known_methods for the best resource */
	size_t exact = SIZE_MAX, get = SIZE_MAX;

	memset(m, 0, sizeof(*m));
	if (path == NULL || path[0] != '/' || method == NULL)
		return ROUTER_NOT_FOUND;
	size_t plen = trimmed_len(path);

	for (size_t i = 0; i < n; i++) {
		const void *el = (const char *)table + i * stride;
		const struct router_entry *e = el;
		uint64_t score;

		if (skip != NULL && skip(el, ctx))
			continue;
		if (!match_path(e->pattern, path, plen, &score))
			continue;
		if (!found || score < best) {
			found = 1;
			best = score;
			methods = 0;
			exact = get = SIZE_MAX;
		} else if (score > best) {
			continue;
		}
		int bit = method_bit(e->method);

		if (bit >= 0)
			methods |= 1u << bit;
		if (exact == SIZE_MAX && strcmp(e->method, method) == 0)
			exact = i;
		if (get == SIZE_MAX && bit == M_GET)
			get = i;
	}
	if (!found)
		return ROUTER_NOT_FOUND;
	if (exact == SIZE_MAX && strcmp(method, "HEAD") == 0)
		exact = get;
	if (exact == SIZE_MAX) {
		build_allow(m->allow, sizeof(m->allow), methods);
		return ROUTER_METHOD_NOT_ALLOWED;
	}
	const struct router_entry *e = (const void *)((const char *)table + exact * stride);

	if (extract(e->pattern, path, plen, a, m) != 0) {
		memset(m, 0, sizeof(*m));
		return ROUTER_NOT_FOUND;
	}
	m->index = exact;
	return ROUTER_MATCH;
}

enum router_result router_match(const void *table, size_t n, size_t stride, const char *method,
                                const char *path, struct arena *a, struct router_match *m)
{
	return router_match_filter(table, n, stride, method, path, a, m, NULL, NULL);
}

const char *router_param(const struct router_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}
