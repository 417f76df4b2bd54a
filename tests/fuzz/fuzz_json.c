/* fuzz_json.c - libFuzzer driver: the strict JSON checker (json_parse) and the field
 * validator (json_validate) with a table that uses every field type, nested once. A
 * parsed value must serialise again and re-parse (strictness is stable). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/buf.h"
#include "http/json.h"

static const char *const choices[] = {"a", "jobseeker", "employer", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	json_object *obj = NULL, *again = NULL, *nested = NULL, *arr = NULL;
	const char *why = NULL, *s = NULL, *email = NULL, *date = NULL, *uuid = NULL, *e = NULL;
	const char *ns = NULL;
	int64_t i = 0, ni = 0;
	int b = 0, present = 0;
	struct json_errors errs;
	struct buf out;

	if (a == NULL)
		a = arena_new(1 << 16);
	arena_reset(a);
	if (json_parse(a, (const char *)data, size, &obj, &why) != ERR_OK) {
		if (why == NULL)
			abort(); /* a refusal always says why */
		return 0;
	}
	buf_init(&out, a, 1 << 22);
	if (json_to_buf(obj, &out) == ERR_OK &&
	    json_parse(a, out.data, out.len, &again, &why) != ERR_OK)
		abort(); /* what we print we must accept */

	struct json_field fields[] = {
	    {"s", JT_STRING, 0, 1, 64, &s, &present, NULL},
	    {"i", JT_INT, JF_NULLABLE, -5, 1000000, &i, NULL, NULL},
	    {"b", JT_BOOL, 0, 0, 0, &b, NULL, NULL},
	    {"o", JT_OBJECT, JF_NULLABLE, 0, 0, &nested, NULL, NULL},
	    {"a", JT_ARRAY, 0, 0, 0, &arr, NULL, NULL},
	    {"email", JT_EMAIL, JF_REQUIRED, 0, 254, &email, NULL, NULL},
	    {"date", JT_DATE, 0, 0, 0, &date, NULL, NULL},
	    {"id", JT_UUID, 0, 0, 0, &uuid, NULL, NULL},
	    {"e", JT_ENUM, JF_NULLABLE, 0, 0, &e, NULL, choices},
	    {"p", JT_STRING, JF_NOTRIM, 0, 0, &ns, NULL, NULL},
	};
	memset(&errs, 0, sizeof errs);
	(void)json_validate(a, obj, fields, sizeof fields / sizeof fields[0], "", &errs);
	if (errs.n > JSON_MAX_ERRORS)
		abort();
	for (size_t k = 0; k < errs.n; k++)
		if (errs.e[k].field == NULL || errs.e[k].message == NULL)
			abort();
	if (nested != NULL) {
		struct json_field inner[] = {
		    {"s", JT_STRING, JF_REQUIRED, 0, 8, &ns, NULL, NULL},
		    {"i", JT_INT, 0, 0, 10, &ni, NULL, NULL},
		};
		(void)json_validate(a, nested, inner, 2, "o", &errs);
	}
	if (arr != NULL && json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);

		for (size_t k = 0; k < n && k < 4; k++) {
			struct json_field inner[] = {
			    {"d", JT_DATE, JF_REQUIRED, 0, 0, &date, NULL, NULL},
			};
			(void)json_validate(a, json_object_array_get_idx(arr, k), inner, 1, "a[]",
			                    &errs);
		}
	}
	return 0;
}
