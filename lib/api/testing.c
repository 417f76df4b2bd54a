/* testing.c - test-only endpoints (ROUTE_TEST: present only with MEDRIN_TEST_ROUTES=1).
 *
 * /_test/sleep keeps a worker busy for a known time (graceful stop and reload tests);
 * /_test/echo exercises the JSON pipeline and the validator end to end; /_test/staff
 * is a staff-only route for the authorisation tests. */
#include "api/api.h"

#include <errno.h>
#include <time.h>
#include "base/util.h"

#define SLEEP_MAX_MS 10000

int testing_sleep(struct api_req *r)
{
	const char *ms_text = api_query(r, "ms");
	long ms = 0;

	if (ms_text == NULL || util_parse_long(ms_text, 0, SLEEP_MAX_MS, &ms) != ERR_OK) {
		struct json_errors errs = {0};

		json_errors_add(&errs, r->arena, "", "ms",
		                ms_text == NULL ? "is required"
		                                : "must be an integer between 0 and 10000");
		return api_invalid(r, &errs);
	}
	/* Sleep the whole time even when a signal (SIGTERM for a graceful stop) arrives:
	 * in-flight requests are meant to finish. */
	struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
	json_object *out = json_new_object(r->arena);

	json_object_object_add(out, "slept_ms", json_object_new_int64(ms));
	return api_json(r, 200, out);
}

int testing_echo(struct api_req *r)
{
	const char *name = NULL;
	int64_t count = 0;
	int has_count = 0;
	const struct json_field fields[] = {
	    {.name = "name",
	     .type = JT_STRING,
	     .flags = JF_REQUIRED,
	     .min = 1,
	     .max = 50,
	     .out = &name},
	    {.name = "count",
	     .type = JT_INT,
	     .min = 0,
	     .max = 100,
	     .out = &count,
	     .present = &has_count},
	};
	struct json_errors errs = {0};

	if (json_validate(r->arena, r->body, fields, 2, "", &errs) != ERR_OK)
		return api_invalid(r, &errs);
	json_object *out = json_new_object(r->arena);

	json_object_object_add(out, "name", json_object_new_string(name));
	if (has_count)
		json_object_object_add(out, "count", json_object_new_int64(count));
	return api_json(r, 200, out);
}

/* GET /_test/staff (ROUTE_STAFF): who the dispatcher let through, and with which role.
 * Proves that authorisation uses the role stored with the session, not the token's. */
int testing_staff(struct api_req *r)
{
	json_object *out = json_new_object(r->arena);

	json_object_object_add(out, "user_id", json_object_new_string(r->ctx.actor.user_id));
	json_object_object_add(out, "role", json_object_new_string(r->ctx.actor.role));
	return api_json(r, 200, out);
}
