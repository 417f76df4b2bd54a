/* json.c - strict JSON input and field validation; see json.h.
 *
 * json-c builds the tree, but on its own (0.16, even with JSON_TOKENER_STRICT) it accepts
 * NaN and Infinity, single-quoted keys, raw control characters in strings, "1.", overlong
 * and surrogate UTF-8, lone \ud800 escapes, and silently clamps integers that overflow
 * int64. So a small RFC 8259 recogniser (scan_*) checks the text first and gives the safe,
 * static reason for a 400; json-c then only builds a tree from text already known good.
 */
#include "http/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/util.h"
#include "http/http.h"

/* ---- strict recogniser ---- */

struct scan {
	const char *p;
	const char *end;
	const char *why;
	size_t members; /* object members seen, to detect duplicate keys afterwards */
};

#define NUMBER_MAX 64 /* longest number token accepted, in bytes */

static int fail(struct scan *s, const char *why)
{
	s->why = why;
	return -1;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* scan_string: s->p at the opening quote. UTF-8 was checked for the whole text. */
static int scan_string(struct scan *s)
{
	s->p++;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;

		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(s, "control character in a string");
		if (c != '\\') {
			s->p++;
			continue;
		}
		if (s->end - s->p < 2)
			break;
		char e = s->p[1];

		if (e == 'u') {
			unsigned cp, lo;

			if (s->end - s->p < 6 || hex4(s->p + 2, &cp) != 0)
				return fail(s, "invalid \\u escape");
			s->p += 6;
			if (cp == 0)
				return fail(s, "\\u0000 is not allowed");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(s, "unpaired UTF-16 surrogate escape");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
				    hex4(s->p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
					return fail(s, "unpaired UTF-16 surrogate escape");
				s->p += 6;
			}
			continue;
		}
		if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
			return fail(s, "invalid escape in a string");
		s->p += 2;
	}
	return fail(s, "unterminated string");
}

static int scan_number(struct scan *s)
{
	const char *start = s->p;
	int is_int = 1;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p >= s->end || !isdigit((unsigned char)*s->p))
		return fail(s, "invalid number");
	if (*s->p == '0') {
		s->p++;
	} else {
		while (s->p < s->end && isdigit((unsigned char)*s->p))
			s->p++;
	}
	if (s->p < s->end && *s->p == '.') {
		is_int = 0;
		s->p++;
		if (s->p >= s->end || !isdigit((unsigned char)*s->p))
			return fail(s, "invalid number");
		while (s->p < s->end && isdigit((unsigned char)*s->p))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		is_int = 0;
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || !isdigit((unsigned char)*s->p))
			return fail(s, "invalid number");
		while (s->p < s->end && isdigit((unsigned char)*s->p))
			s->p++;
	}
	if (s->p < s->end && isdigit((unsigned char)*s->p))
		return fail(s, "invalid number"); /* "01" */
	size_t len = (size_t)(s->p - start);
	char tmp[NUMBER_MAX + 1];

	if (len > NUMBER_MAX)
		return fail(s, "number too long");
	memcpy(tmp, start, len);
	tmp[len] = '\0';
	errno = 0;
	if (is_int) {
		(void)strtoll(tmp, NULL, 10);
		if (errno == ERANGE)
			return fail(s, "number out of range");
	} else if (isinf(strtod(tmp, NULL))) {
		return fail(s, "number out of range");
	}
	return 0;
}

static int scan_literal(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return fail(s, "unexpected character");
	s->p += n;
	return 0;
}

static int scan_value(struct scan *s, int depth);

static int scan_object(struct scan *s, int depth)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (s->p >= s->end)
			return fail(s, "unexpected end of input");
		if (*s->p != '"')
			return fail(s, "object keys must be strings in double quotes");
		if (scan_string(s) != 0)
			return -1;
		skip_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return fail(s, s->p >= s->end ? "unexpected end of input" : "expected ':'");
		s->p++;
		if (scan_value(s, depth) != 0)
			return -1;
		s->members++;
		skip_ws(s);
		if (s->p >= s->end)
			return fail(s, "unexpected end of input");
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, "expected ',' or '}'");
		s->p++;
	}
}

static int scan_array(struct scan *s, int depth)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s, depth) != 0)
			return -1;
		skip_ws(s);
		if (s->p >= s->end)
			return fail(s, "unexpected end of input");
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, "expected ',' or ']'");
		s->p++;
	}
}

/* depth: containers already open around this value. */
static int scan_value(struct scan *s, int depth)
{
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, "unexpected end of input");
	switch (*s->p) {
	case '{':
		if (depth + 1 > JSON_MAX_DEPTH)
			return fail(s, "nesting too deep");
		return scan_object(s, depth + 1);
	case '[':
		if (depth + 1 > JSON_MAX_DEPTH)
			return fail(s, "nesting too deep");
		return scan_array(s, depth + 1);
	case '"': return scan_string(s);
	case 't': return scan_literal(s, "true");
	case 'f': return scan_literal(s, "false");
	case 'n': return scan_literal(s, "null");
	default:
		if (*s->p == '-' || isdigit((unsigned char)*s->p))
			return scan_number(s);
		return fail(s, "unexpected character");
	}
}

/* Object members in the built tree; fewer than the text had means a key was repeated. */
static size_t tree_members(json_object *o)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			n += 1 + tree_members(val);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);

		for (size_t i = 0; i < len; i++)
			n += tree_members(json_object_array_get_idx(o, i));
	}
	return n;
}

static void json_release(void *p)
{
	json_object_put(p);
}

int json_parse(struct arena *a, const char *text, size_t len, json_object **out, const char **why)
{
	struct scan s = {.p = text, .end = text + len, .why = NULL, .members = 0};
	struct json_tokener *tok = NULL;
	json_object *o = NULL;
	int rc = ERR_INVALID;

	*out = NULL;
	*why = NULL;
	if (text == NULL || len == 0) {
		*why = "empty body";
		goto out;
	}
	if (len > INT32_MAX) {
		*why = "body too large";
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		*why = "NUL character in the body";
		goto out;
	}
	if (!http_utf8_valid(text, len)) {
		*why = "invalid UTF-8";
		goto out;
	}
	if (scan_value(&s, 0) != 0) {
		*why = s.why;
		goto out;
	}
	skip_ws(&s);
	if (s.p != s.end) {
		*why = "unexpected data after the JSON value";
		goto out;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL) {
		*why = "parser unavailable";
		rc = ERR_INTERNAL;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1); /* a bare number ends at end of input */
	if (o == NULL && json_tokener_get_error(tok) != json_tokener_success) {
		/* The recogniser accepted it, so this is a disagreement, not the client's text. */
		*why = "invalid JSON";
		goto out;
	}
	if (s.members > 1 && tree_members(o) != s.members) {
		json_object_put(o);
		o = NULL;
		*why = "duplicate object key";
		goto out;
	}
	arena_defer(a, json_release, o);
	*out = o; /* NULL for the text "null" */
	rc = ERR_OK;
out:
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/* ---- validation ---- */

static const char *join(struct arena *a, const char *prefix, const char *field)
{
	if (prefix == NULL || prefix[0] == '\0')
		return arena_strdup(a, field != NULL ? field : "");
	if (field == NULL || field[0] == '\0')
		return arena_strdup(a, prefix);
	return arena_printf(a, "%s.%s", prefix, field);
}

void json_errors_add(struct json_errors *errs, struct arena *a, const char *prefix,
                     const char *field, const char *message)
{
	if (errs->n >= JSON_MAX_ERRORS)
		return;
	errs->e[errs->n].field = join(a, prefix, field);
	errs->e[errs->n].message = message;
	errs->n++;
}

struct vctx {
	struct arena *a;
	const char *prefix;
	struct json_errors *errs;
	int added;
};

static void add(struct vctx *v, const char *field, const char *message)
{
	json_errors_add(v->errs, v->a, v->prefix, field, message);
	v->added++;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int valid_date(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');

	if (y < 1 || m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int max = mdays[m - 1] + (m == 2 && leap);

	return d <= max;
}

static const char *enum_message(struct arena *a, const char *const *choices)
{
	struct buf b;

	buf_init(&b, a, 1024);
	if (buf_puts(&b, "must be one of: ") != ERR_OK)
		return "must be one of the allowed values";
	for (size_t i = 0; choices != NULL && choices[i] != NULL; i++)
		if ((i > 0 && buf_puts(&b, ", ") != ERR_OK) || buf_puts(&b, choices[i]) != ERR_OK)
			return "must be one of the allowed values";
	return buf_str(&b);
}

/* check_string validates a string-typed field and stores the result. */
static void check_string(struct vctx *v, const struct json_field *f, json_object *val)
{
	if (!json_object_is_type(val, json_type_string)) {
		add(v, f->name, "must be a string");
		return;
	}
	const char *s = json_object_get_string(val);
	size_t len = (size_t)json_object_get_string_len(val);

	if (strlen(s) != len) {
		add(v, f->name, "must not contain NUL characters");
		return;
	}
	if (!(f->flags & JF_NOTRIM) || f->type == JT_EMAIL) {
		while (len > 0 && is_space(*s)) {
			s++;
			len--;
		}
		while (len > 0 && is_space(s[len - 1]))
			len--;
	}
	char *copy = arena_strndup(v->a, s, len);

	if (f->min > 0 && (long long)len < f->min) {
		add(v, f->name,
		    f->min == 1 ? "must not be empty"
		                : arena_printf(v->a, "must be at least %lld bytes long", f->min));
		return;
	}
	if (f->max > 0 && (long long)len > f->max) {
		add(v, f->name, arena_printf(v->a, "must be at most %lld bytes long", f->max));
		return;
	}
	switch (f->type) {
	case JT_EMAIL:
		copy = util_normalize_email(v->a, copy);
		if (!util_email_valid(copy)) {
			add(v, f->name, "must be a valid email address");
			return;
		}
		break;
	case JT_DATE:
		if (!valid_date(copy)) {
			add(v, f->name, "must be a valid date (YYYY-MM-DD)");
			return;
		}
		break;
	case JT_UUID:
		if (!util_uuid_valid(copy)) {
			add(v, f->name, "must be a UUID");
			return;
		}
		for (char *p = copy; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		break;
	case JT_ENUM: {
		int ok = 0;

		for (size_t i = 0; f->choices != NULL && f->choices[i] != NULL && !ok; i++)
			ok = strcmp(copy, f->choices[i]) == 0;
		if (!ok) {
			add(v, f->name, enum_message(v->a, f->choices));
			return;
		}
		break;
	}
	default: break;
	}
	if (f->out != NULL)
		*(const char **)f->out = copy;
}

static void check_field(struct vctx *v, const struct json_field *f, json_object *val)
{
	switch (f->type) {
	case JT_STRING:
	case JT_EMAIL:
	case JT_DATE:
	case JT_UUID:
	case JT_ENUM: check_string(v, f, val); return;
	case JT_INT: {
		if (!json_object_is_type(val, json_type_int)) {
			add(v, f->name, "must be an integer");
			return;
		}
		int64_t n = json_object_get_int64(val);

		if ((f->min != 0 || f->max != 0) && (n < f->min || n > f->max)) {
			add(v, f->name,
			    arena_printf(v->a, "must be between %lld and %lld", f->min, f->max));
			return;
		}
		if (f->out != NULL)
			*(int64_t *)f->out = n;
		return;
	}
	case JT_BOOL:
		if (!json_object_is_type(val, json_type_boolean)) {
			add(v, f->name, "must be true or false");
			return;
		}
		if (f->out != NULL)
			*(int *)f->out = json_object_get_boolean(val) ? 1 : 0;
		return;
	case JT_OBJECT:
		if (!json_object_is_type(val, json_type_object)) {
			add(v, f->name, "must be an object");
			return;
		}
		if (f->out != NULL)
			*(json_object **)f->out = val;
		return;
	case JT_ARRAY: {
		if (!json_object_is_type(val, json_type_array)) {
			add(v, f->name, "must be an array");
			return;
		}
		long long len = (long long)json_object_array_length(val);

		if (len < f->min || (f->max > 0 && len > f->max)) {
			add(v, f->name,
			    f->max > 0
			        ? arena_printf(v->a, "must have between %lld and %lld items",
			                       f->min, f->max)
			        : arena_printf(v->a, "must have at least %lld items", f->min));
			return;
		}
		if (f->out != NULL)
			*(json_object **)f->out = val;
		return;
	}
	}
	add(v, f->name, "has an unsupported type");
}

int json_validate(struct arena *a, json_object *obj, const struct json_field *fields,
                  size_t nfields, const char *prefix, struct json_errors *errs)
{
	struct vctx v = {.a = a, .prefix = prefix != NULL ? prefix : "", .errs = errs, .added = 0};

	if (!json_object_is_type(obj, json_type_object)) {
		json_errors_add(errs, a, "", v.prefix, "must be a JSON object");
		return ERR_INVALID;
	}
	for (size_t i = 0; i < nfields; i++) {
		const struct json_field *f = &fields[i];
		json_object *val = NULL;
		int present = json_object_object_get_ex(obj, f->name, &val);

		if (f->present != NULL)
			*f->present = present;
		if (!present) {
			if (f->flags & JF_REQUIRED)
				add(&v, f->name, "is required");
			continue;
		}
		if (val == NULL) {
			if (!(f->flags & JF_NULLABLE))
				add(&v, f->name,
				    (f->flags & JF_REQUIRED) ? "is required" : "must not be null");
			continue;
		}
		check_field(&v, f, val);
	}
	json_object_object_foreach(obj, key, val)
	{
		int known = 0;

		(void)val;
		for (size_t i = 0; i < nfields && !known; i++)
			known = strcmp(key, fields[i].name) == 0;
		if (!known) {
			add(&v, key, "unknown field");
			errs->unknown = 1;
		}
	}
	return v.added > 0 ? ERR_INVALID : ERR_OK;
}

/* ---- output ---- */

int json_to_buf(json_object *obj, struct buf *b)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (s == NULL)
		return ERR_INTERNAL;
	return buf_append(b, s, len);
}

json_object *json_new_object(struct arena *a)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		util_oom();
	arena_defer(a, json_release, o);
	return o;
}
