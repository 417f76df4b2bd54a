/* rating.c - the generateContent client; see rating.h. */
#include "rating.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"

#define PROMPT                                                                              \
	"You are an experienced recruiter. Rate the following resume from 0 (unusable) to " \
	"100 (outstanding) for clarity, impact and completeness. Answer with JSON only: "   \
	"rating (integer 0-100), reasoning (a short paragraph), strengths (list of short "  \
	"strings), improvements (list of short, actionable strings).\n\nRESUME:\n"

struct reply {
	char *data;
	size_t len;
	int overflow;
	long retry_after; /* seconds, -1: none */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (r->len + len > RATING_REPLY_MAX) {
		r->overflow = 1;
		return 0;
	}
	char *d = realloc(r->data, r->len + len + 1);

	if (d == NULL)
		return 0;
	memcpy(d + r->len, p, len);
	r->data = d;
	r->len += len;
	r->data[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
		char *end;
		long v;

		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			r->retry_after = v; /* an HTTP date is treated as absent */
	}
	return len;
}

static json_object *schema(void)
{
	json_object *s = json_object_new_object(), *props = json_object_new_object();
	json_object *req = json_object_new_array();
	json_object *t;
	static const char *const names[] = {"rating", "reasoning", "strengths", "improvements"};

	json_object_object_add(s, "type", json_object_new_string("OBJECT"));
	t = json_object_new_object();
	json_object_object_add(t, "type", json_object_new_string("INTEGER"));
	json_object_object_add(t, "minimum", json_object_new_int(0));
	json_object_object_add(t, "maximum", json_object_new_int(100));
	json_object_object_add(props, "rating", t);
	t = json_object_new_object();
	json_object_object_add(t, "type", json_object_new_string("STRING"));
	json_object_object_add(props, "reasoning", t);
	for (int i = 0; i < 2; i++) {
		json_object *items = json_object_new_object();

		t = json_object_new_object();
		json_object_object_add(t, "type", json_object_new_string("ARRAY"));
		json_object_object_add(items, "type", json_object_new_string("STRING"));
		json_object_object_add(t, "items", items);
		json_object_object_add(props, i == 0 ? "strengths" : "improvements", t);
	}
	json_object_object_add(s, "properties", props);
	for (size_t i = 0; i < 4; i++)
		json_object_array_add(req, json_object_new_string(names[i]));
	json_object_object_add(s, "required", req);
	return s;
}

static char *request_body(struct arena *a, const char *text)
{
	json_object *o = json_object_new_object(), *contents = json_object_new_array();
	json_object *turn = json_object_new_object(), *parts = json_object_new_array();
	json_object *part = json_object_new_object(), *gen = json_object_new_object();
	char *out;

	json_object_object_add(part, "text",
	                       json_object_new_string(arena_printf(a, "%s%s", PROMPT, text)));
	json_object_array_add(parts, part);
	json_object_object_add(turn, "role", json_object_new_string("user"));
	json_object_object_add(turn, "parts", parts);
	json_object_array_add(contents, turn);
	json_object_object_add(o, "contents", contents);
	json_object_object_add(gen, "responseMimeType", json_object_new_string("application/json"));
	json_object_object_add(gen, "responseSchema", schema());
	json_object_object_add(gen, "temperature", json_object_new_double(0.2));
	json_object_object_add(o, "generationConfig", gen);
	out = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

static json_object *get(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int string_array(json_object *v)
{
	if (v == NULL)
		return 0;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return 0;
	return 1;
}

int rating_parse(const char *body, json_object **result, char err[RATING_ERRBUF_SIZE])
{
	json_object *top = body != NULL ? json_tokener_parse(body) : NULL;
	json_object *cands, *content, *parts, *text, *inner = NULL, *v, *out;
	const char *why = NULL;
	int64_t rating;

	*result = NULL;
	cands = get(top, "candidates", json_type_array);
	if (cands == NULL || json_object_array_length(cands) == 0) {
		why = top == NULL ? "the reply is not JSON" : "the reply has no candidates";
		goto bad;
	}
	content = get(json_object_array_get_idx(cands, 0), "content", json_type_object);
	parts = get(content, "parts", json_type_array);
	text = parts != NULL && json_object_array_length(parts) > 0
	           ? get(json_object_array_get_idx(parts, 0), "text", json_type_string)
	           : NULL;
	if (text == NULL) {
		why = "the first candidate has no text part";
		goto bad;
	}
	inner = json_tokener_parse(json_object_get_string(text));
	if (inner == NULL || !json_object_is_type(inner, json_type_object)) {
		why = "the candidate's text is not a JSON object";
		goto bad;
	}
	v = get(inner, "rating", json_type_int);
	if (v == NULL || (rating = json_object_get_int64(v)) < 0 || rating > 100) {
		why = "rating is missing or not an integer 0..100";
		goto bad;
	}
	v = get(inner, "reasoning", json_type_string);
	if (v == NULL || json_object_get_string_len(v) == 0) {
		why = "reasoning is missing or empty";
		goto bad;
	}
	if (!string_array(get(inner, "strengths", json_type_array)) ||
	    !string_array(get(inner, "improvements", json_type_array))) {
		why = "strengths and improvements must be arrays of strings";
		goto bad;
	}
	out = json_object_new_object();
	json_object_object_add(out, "rating", json_object_new_int64(rating));
	json_object_object_add(out, "reasoning",
	                       json_object_get(get(inner, "reasoning", json_type_string)));
	json_object_object_add(out, "strengths",
	                       json_object_get(get(inner, "strengths", json_type_array)));
	json_object_object_add(out, "improvements",
	                       json_object_get(get(inner, "improvements", json_type_array)));
	json_object_put(inner);
	json_object_put(top);
	*result = out;
	return ERR_OK;
bad:
	snprintf(err, RATING_ERRBUF_SIZE, "malformed rating reply: %s", why);
	json_object_put(inner);
	json_object_put(top);
	return ERR_INVALID;
}

int rating_request(const struct config *cfg, struct arena *a, const char *resume_text,
                   json_object **result, char err[RATING_ERRBUF_SIZE], int (*stop)(void *),
                   void *arg)
{
	const char *url, *body;
	struct curl_slist *h = NULL;
	int rc = ERR_UNAVAILABLE;

	*result = NULL;
	if (cfg->gemini_api_key == NULL || *cfg->gemini_api_key == '\0') {
		snprintf(err, RATING_ERRBUF_SIZE, "rating unavailable: GEMINI_API_KEY is not set");
		return ERR_INVALID;
	}
	url =
	    arena_printf(a, "%s/models/%s:generateContent", cfg->gemini_api_url, cfg->gemini_model);
	body = request_body(a, resume_text);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, arena_printf(a, "x-goog-api-key: %s", cfg->gemini_api_key));

	for (int try = 1; try <= RATING_TRIES; try++) {
		struct reply rep = {NULL, 0, 0, -1};
		CURL *c = curl_easy_init();
		CURLcode cc;
		long status = 0, wait;

		if (c == NULL) {
			snprintf(err, RATING_ERRBUF_SIZE, "libcurl initialisation failed");
			break;
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->gemini_timeout_s);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &rep);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);

		if (cc == CURLE_OK && status == 200) {
			rc = rating_parse(rep.data, result, err);
			free(rep.data);
			break;
		}
		free(rep.data);
		if (rep.overflow) {
			snprintf(err, RATING_ERRBUF_SIZE, "rating reply larger than %d bytes",
			         RATING_REPLY_MAX);
			rc = ERR_INVALID;
			break;
		}
		if (cc == CURLE_OK && status != 429 && status < 500) {
			snprintf(err, RATING_ERRBUF_SIZE,
			         "rating API refused the request (HTTP %ld)", status);
			rc = ERR_INVALID;
			break;
		}
		if (cc == CURLE_OK)
			snprintf(err, RATING_ERRBUF_SIZE,
			         "rating API answered HTTP %ld (try %d/%d)", status, try,
			         RATING_TRIES);
		else
			snprintf(err, RATING_ERRBUF_SIZE, "rating API unreachable: %s (try %d/%d)",
			         curl_easy_strerror(cc), try, RATING_TRIES);
		log_info("rating: %s", err);
		rc = ERR_UNAVAILABLE;
		if (try == RATING_TRIES || (stop != NULL && stop(arg)))
			break;
		wait = rep.retry_after >= 0 ? rep.retry_after : (1L << (try - 1));
		if (wait > RATING_RETRY_AFTER_MAX)
			wait = RATING_RETRY_AFTER_MAX;
		for (long ms = 0; ms < wait * 1000; ms += 50) {
			struct timespec ts = {0, 50 * 1000000L};

			if (stop != NULL && stop(arg))
				break;
			nanosleep(&ts, NULL);
		}
	}
	curl_slist_free_all(h);
	return rc;
}
