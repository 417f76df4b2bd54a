/* json.h - strict JSON input over json-c, and small output helpers.
 *
 * json_parse parses a whole body strictly (one value, nothing after it, depth limit,
 * valid UTF-8). json_validate checks an object against a field table: types, required,
 * lengths and ranges, and rejects unknown fields, collecting every problem with its
 * path ("sections[1].items[0].start_date") so one 422 lists them all.
 */
#ifndef MEDRIN_JSON_H
#define MEDRIN_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "base/err.h"

struct arena;
struct buf;

#define JSON_MAX_DEPTH 32
#define JSON_MAX_ERRORS 32

/* json_parse returns ERR_OK and *out (registered with the arena: put on reset), or
 * ERR_INVALID with a short, safe reason in *why (a static string). */
int json_parse(struct arena *a, const char *text, size_t len, json_object **out,
               const char **why) MUSTCHECK;

enum json_type_want {
	JT_STRING, /* out: const char ** (arena copy) */
	JT_INT,    /* out: int64_t * ; min/max inclusive */
	JT_BOOL,   /* out: int * */
	JT_OBJECT, /* out: json_object ** (borrowed from the parsed tree) */
	JT_ARRAY,  /* out: json_object ** */
	JT_EMAIL,  /* string, trimmed + lower-cased, must look like an address */
	JT_DATE,   /* string YYYY-MM-DD, a real calendar date */
	JT_UUID,   /* string, 8-4-4-4-12 hex */
	JT_ENUM    /* string that must equal one of `choices` (NULL-terminated) */
};

enum json_field_flags {
	JF_REQUIRED = 1 << 0,
	JF_NULLABLE = 1 << 1, /* null is accepted and leaves *out untouched; *present set */
	JF_NOTRIM = 1 << 2    /* keep surrounding white space (passwords) */
};

struct json_field {
	const char *name;
	enum json_type_want type;
	unsigned flags;
	long long min, max; /* strings: length in bytes (max 0: no limit); ints: range */
	void *out;
	int *present;               /* optional: set to 1 when the field was in the object */
	const char *const *choices; /* JT_ENUM */
};

struct json_errors {
	size_t n;
	int unknown; /* at least one unknown field was seen */
	struct {
		const char *field;
		const char *message;
	} e[JSON_MAX_ERRORS];
};

/* json_validate checks obj (must be an object; if not, one error at `prefix`) against
 * the table. `prefix` is the path of obj ("" at the top, "sections[1]" when nested).
 * Appends to errs; returns ERR_OK when errs gained nothing, else ERR_INVALID. */
int json_validate(struct arena *a, json_object *obj, const struct json_field *fields,
                  size_t nfields, const char *prefix, struct json_errors *errs);

/* json_errors_add records a problem found by hand (cross-field rules). */
void json_errors_add(struct json_errors *errs, struct arena *a, const char *prefix,
                     const char *field, const char *message);

/* json_to_buf serialises obj compactly (no escaped slashes) into b. */
int json_to_buf(json_object *obj, struct buf *b) MUSTCHECK;
/* json_new_object returns an object registered with the arena (put on reset). */
json_object *json_new_object(struct arena *a);

#endif
