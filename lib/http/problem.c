/* problem.c - RFC 9457 problem+json bodies; see problem.h. */
#include "http/problem.h"

#include <string.h>
#include "base/buf.h"
#include "http/http.h"

#define PROBLEM_CONTENT_TYPE "application/problem+json"

static int is_standard_member(const char *key)
{
	static const char *const std[] = {"type", "title", "status", "code", "detail", "errors"};

	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		if (strcmp(key, std[i]) == 0)
			return 1;
	return 0;
}

static int render(struct buf *b, int status, const char *code, const char *detail,
                  const struct problem_error *errors, size_t nerrors, json_object *ext)
{
	int rc = buf_puts(b, "{\"type\":\"about:blank\",\"title\":");

	if (rc == ERR_OK)
		rc = buf_json_string(b, http_reason(status));
	if (rc == ERR_OK)
		rc = buf_printf(b, ",\"status\":%d,\"code\":", status);
	if (rc == ERR_OK)
		rc = buf_json_string(b, code != NULL ? code : "error");
	if (rc == ERR_OK && detail != NULL) {
		rc = buf_puts(b, ",\"detail\":");
		if (rc == ERR_OK)
			rc = buf_json_string(b, detail);
	}
	if (rc == ERR_OK && nerrors > 0 && errors != NULL) {
		rc = buf_puts(b, ",\"errors\":[");
		for (size_t i = 0; rc == ERR_OK && i < nerrors; i++) {
			if (i > 0)
				rc = buf_putc(b, ',');
			if (rc == ERR_OK)
				rc = buf_puts(b, "{\"field\":");
			if (rc == ERR_OK)
				rc = buf_json_string(b, errors[i].field != NULL ? errors[i].field
				                                                : "");
			if (rc == ERR_OK)
				rc = buf_puts(b, ",\"message\":");
			if (rc == ERR_OK)
				rc = buf_json_string(
				    b, errors[i].message != NULL ? errors[i].message : "");
			if (rc == ERR_OK)
				rc = buf_putc(b, '}');
		}
		if (rc == ERR_OK)
			rc = buf_putc(b, ']');
	}
	if (rc == ERR_OK && ext != NULL && json_object_is_type(ext, json_type_object)) {
		json_object_object_foreach(ext, key, val)
		{
			if (is_standard_member(key))
				continue;
			rc = buf_putc(b, ',');
			if (rc == ERR_OK)
				rc = buf_json_string(b, key);
			if (rc == ERR_OK)
				rc = buf_putc(b, ':');
			if (rc == ERR_OK)
				rc = buf_puts(b, json_object_to_json_string_ext(
				                     val, JSON_C_TO_STRING_PLAIN |
				                              JSON_C_TO_STRING_NOSLASHESCAPE));
			if (rc != ERR_OK)
				break;
		}
	}
	if (rc == ERR_OK)
		rc = buf_putc(b, '}');
	return rc;
}

int problem_render_ext(struct http_resp *resp, struct arena *a, int status, const char *code,
                       const char *detail, const struct problem_error *errors, size_t nerrors,
                       json_object *ext)
{
	(void)a;
	resp->status = status;
	resp->content_type = PROBLEM_CONTENT_TYPE;
	buf_reset(&resp->body);
	if (render(&resp->body, status, code, detail, errors, nerrors, ext) == ERR_OK)
		return status;
	/* Only a huge detail or error list can get here: drop the extras, keep the status. */
	buf_reset(&resp->body);
	if (render(&resp->body, status, code, NULL, NULL, 0, NULL) != ERR_OK)
		buf_reset(&resp->body);
	return status;
}

int problem_render(struct http_resp *resp, struct arena *a, int status, const char *code,
                   const char *detail, const struct problem_error *errors, size_t nerrors)
{
	return problem_render_ext(resp, a, status, code, detail, errors, nerrors, NULL);
}
