/* problem.h - RFC 9457 problem details.
 *
 * Body: {"type":"about:blank","title":<reason phrase>,"status":N,"code":"<stable code>",
 * "detail":"<for people>","errors":[{"field":"email","message":"…"}]?} with
 * Content-Type application/problem+json. Never carries SQL text or library messages.
 */
#ifndef MEDRIN_PROBLEM_H
#define MEDRIN_PROBLEM_H

#include <stddef.h>
#include <json-c/json.h>

struct http_resp;
struct arena;

struct problem_error {
	const char *field;
	const char *message;
};

/* problem_render fills resp (status, content type, body; headers already set are kept).
 * Members appear in the order above; "detail" is left out when detail is NULL and
 * "errors" when nerrors is 0. errors may be NULL. Every string is JSON-escaped. Returns
 * status so handlers can `return problem_render(...)`; never fails (a body that would
 * not fit the response limit falls back to the members without "errors"). */
int problem_render(struct http_resp *resp, struct arena *a, int status, const char *code,
                   const char *detail, const struct problem_error *errors, size_t nerrors);

/* problem_render_ext is problem_render plus extension members: each member of the JSON
 * object ext (may be NULL) is appended after the standard ones, e.g. ready's
 * "checks":{"postgres":"ok","redis":"down"}. A member named like a standard one
 * (type, title, status, code, detail, errors) is skipped. ext stays the caller's. */
int problem_render_ext(struct http_resp *resp, struct arena *a, int status, const char *code,
                       const char *detail, const struct problem_error *errors, size_t nerrors,
                       json_object *ext);

#endif
