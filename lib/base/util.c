/* util.c - small pure helpers; see util.h. */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "base/arena.h"

const char *err_name(int err)
{
	switch (err) {
	case ERR_OK: return "ok";
	case ERR_INVALID: return "invalid";
	case ERR_NOT_FOUND: return "not_found";
	case ERR_CONFLICT: return "conflict";
	case ERR_UNAVAILABLE: return "unavailable";
	case ERR_TOO_LARGE: return "too_large";
	case ERR_DENIED: return "denied";
	case ERR_UNAUTHORIZED: return "unauthorized";
	case ERR_LIMITED: return "limited";
	case ERR_INTERNAL: return "internal";
	case ERR_BUSY: return "busy";
	}
	return "unknown";
}

int64_t util_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_wall_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

char *util_rfc3339(struct arena *a, time_t t)
{
	struct tm tm;
	char *out = arena_alloc(a, 32);

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

int util_parse_long(const char *s, long min, long max, long *out)
{
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return ERR_INVALID;
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);

	if (errno || *end != '\0' || v < min || v > max)
		return ERR_INVALID;
	*out = v;
	return ERR_OK;
}

int util_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

char *util_normalize_email(struct arena *a, const char *email)
{
	const char *s = email;
	const char *e = email + strlen(email);

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	char *out = arena_strndup(a, s, (size_t)(e - s));

	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

int util_email_valid(const char *email)
{
	size_t len = strlen(email);
	const char *at = strchr(email, '@');

	if (len < 3 || len > 254 || at == NULL || at == email || strchr(at + 1, '@'))
		return 0;
	if ((size_t)(at - email) > 64)
		return 0;
	for (const char *p = email; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/* ASCII only (docs/auth.md "Addresses"): no space, control, no-break or
		 * zero-width space, no non-ASCII local part that PostgreSQL's lower() would
		 * fold differently; the migration 0006 CHECK says the same. */
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == ',' || c == ':' ||
		    c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' ||
		    c == '"')
			return 0;
	}
	const char *domain = at + 1;
	const char *dot = strrchr(domain, '.');

	if (dot == NULL || dot == domain || dot[1] == '\0' || strstr(domain, "..") ||
	    domain[0] == '.' || domain[0] == '-')
		return 0;
	return 1;
}

int util_uuid_valid(const char *s)
{
	static const int dash[] = {8, 13, 18, 23};

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void util_oom(void)
{
	static const char msg[] = "medrin: out of memory\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	abort();
}

void *util_xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *util_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n != 0 ? n : 1);

	if (q == NULL)
		util_oom();
	return q;
}

char *util_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		util_oom();
	return p;
}

size_t util_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *util_query_param(struct arena *a, const char *query, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = query;

	while (p != NULL && *p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);

		if ((size_t)(end - p) >= nlen && strncmp(p, name, nlen) == 0 &&
		    (p[nlen] == '=' || p + nlen == end)) {
			const char *v = p + nlen + (p[nlen] == '=' ? 1 : 0);
			char *out = arena_alloc(a, (size_t)(end - v) + 1);
			size_t o = 0;

			for (const char *q = v; q < end; q++) {
				if (*q == '+') {
					out[o++] = ' ';
				} else if (*q == '%' && end - q >= 3 && util_hexval(q[1]) >= 0 &&
				           util_hexval(q[2]) >= 0 &&
				           (util_hexval(q[1]) | util_hexval(q[2])) !=
				               0) { /* %00 is kept as text:
					             * a NUL would cut the value */
					out[o++] =
					    (char)(util_hexval(q[1]) * 16 + util_hexval(q[2]));
					q += 2;
				} else {
					out[o++] = *q;
				}
			}
			out[o] = '\0';
			return out;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}
