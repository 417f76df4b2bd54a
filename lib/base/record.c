/* record.c - see record.h. */
#include "base/record.h"

#include <string.h>
#include "base/arena.h"

static int name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

int record_set(struct record *r, const char *name, const char *value)
{
	if (value == NULL)
		return ERR_OK;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->f[i].name, name) == 0) {
			r->f[i].value = value;
			return ERR_OK;
		}
	}
	if (r->n >= RECORD_MAX_FIELDS)
		return ERR_TOO_LARGE;
	r->f[r->n].name = name;
	r->f[r->n].value = value;
	r->n++;
	return ERR_OK;
}

const char *record_get(const struct record *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].name, name) == 0)
			return r->f[i].value;
	return NULL;
}

char *record_encode(struct arena *a, const struct record *r)
{
	size_t need = 1;
	char *out, *p;

	for (size_t i = 0; i < r->n; i++)
		need += strlen(r->f[i].name) + 2 + 2 * strlen(r->f[i].value);
	out = arena_alloc(a, need);
	p = out;
	for (size_t i = 0; i < r->n; i++) {
		size_t nl = strlen(r->f[i].name);

		memcpy(p, r->f[i].name, nl);
		p += nl;
		*p++ = '=';
		for (const char *v = r->f[i].value; *v != '\0'; v++) {
			if (*v == '\\') {
				*p++ = '\\';
				*p++ = '\\';
			} else if (*v == '\n') {
				*p++ = '\\';
				*p++ = 'n';
			} else {
				*p++ = *v;
			}
		}
		*p++ = '\n';
	}
	*p = '\0';
	return out;
}

int record_decode(struct arena *a, const char *text, size_t len, struct record *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		const char *line = text + i;
		const char *end = memchr(line, '\n', len - i);
		const char *eq;
		char *v, *w;

		if (end == NULL)
			return ERR_INVALID; /* every field ends with a newline */
		eq = memchr(line, '=', (size_t)(end - line));
		if (eq == NULL || !name_ok(line, (size_t)(eq - line)))
			return ERR_INVALID;
		if (out->n >= RECORD_MAX_FIELDS)
			return ERR_INVALID;
		v = arena_alloc(a, (size_t)(end - eq));
		w = v;
		for (const char *s = eq + 1; s < end; s++) {
			if (*s == '\0')
				return ERR_INVALID;
			if (*s != '\\') {
				*w++ = *s;
				continue;
			}
			if (++s >= end)
				return ERR_INVALID;
			if (*s == '\\')
				*w++ = '\\';
			else if (*s == 'n')
				*w++ = '\n';
			else
				return ERR_INVALID;
		}
		*w = '\0';

		char *name = arena_strndup(a, line, (size_t)(eq - line));

		if (record_get(out, name) != NULL)
			return ERR_INVALID;
		out->f[out->n].name = name;
		out->f[out->n].value = v;
		out->n++;
		i = (size_t)(end - text) + 1;
	}
	return ERR_OK;
}

static char *pg_quote(char *p, const char *s)
{
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	return p;
}

char *record_pg_array(struct arena *a, const struct record *r)
{
	size_t need = 3;
	char *out, *p;

	for (size_t i = 0; i < r->n; i++)
		need += 2 * (strlen(r->f[i].name) + strlen(r->f[i].value)) + 6;
	out = arena_alloc_secret(a, need); /* task payloads may carry a code */
	p = out;
	*p++ = '{';
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0)
			*p++ = ',';
		p = pg_quote(p, r->f[i].name);
		*p++ = ',';
		p = pg_quote(p, r->f[i].value);
	}
	*p++ = '}';
	*p = '\0';
	return out;
}
