/* record.h - the one codec for small records kept in Redis (pending registrations, the
 * refresh grace pair, the user cache).
 *
 * A record is a short list of named text fields. Encoded, each field is one line
 * "name=value\n"; in values a backslash is written "\\" and a newline "\n" (two
 * characters), so any C string round-trips and a line never spans two fields. Names are
 * [a-z0-9_]+. Decoding is strict: a malformed line, a bad escape, a duplicate name or
 * more than RECORD_MAX_FIELDS fields makes the whole record ERR_INVALID (a record we can
 * not read is treated by its owner as absent). Unknown names are kept (readers ignore
 * what they do not use), so a field can be added without a flag day.
 *
 * No JSON on purpose: the domain layer owns these records and does not know JSON.
 */
#ifndef MEDRIN_RECORD_H
#define MEDRIN_RECORD_H

#include <stddef.h>
#include "base/err.h"

struct arena;

#define RECORD_MAX_FIELDS 32

struct record_field {
	const char *name;
	const char *value;
};

struct record {
	struct record_field f[RECORD_MAX_FIELDS];
	size_t n;
};

/* record_set adds name=value (value NULL: nothing added); a name already present is
 * replaced. The strings are kept by pointer. Past RECORD_MAX_FIELDS the field is dropped
 * and ERR_TOO_LARGE returned (a programming error: records are small and fixed). */
int record_set(struct record *r, const char *name, const char *value) MUSTCHECK;
/* record_get returns the value of name, or NULL. */
const char *record_get(const struct record *r, const char *name);
/* record_encode returns the encoded text in the arena (never NULL). */
char *record_encode(struct arena *a, const struct record *r);
/* record_decode parses text (len bytes, need not be NUL-terminated) into *out, values in
 * the arena. ERR_INVALID as described above. */
int record_decode(struct arena *a, const char *text, size_t len, struct record *out) MUSTCHECK;

/* record_pg_array returns the record as a PostgreSQL text[] literal of alternating names
 * and values ({"name","value",...}, every element quoted and escaped), in the arena: the
 * parameter of jsonb_object($n::text[]), which is how a record becomes a jsonb column
 * (audit details, task payloads) without the domain building JSON. The text is in
 * secret arena memory (wiped on reset): a mail payload carries a code. */
char *record_pg_array(struct arena *a, const struct record *r);

#endif
