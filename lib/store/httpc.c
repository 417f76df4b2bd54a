/* httpc.c - bounded outbound HTTP with libcurl; see httpc.h. */
#include "store/httpc.h"

#include <string.h>
#include <curl/curl.h>
#include "base/arena.h"
#include "base/log.h"

struct sink {
	char *data;
	size_t len, cap, max;
	int too_large;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (s->len + n > s->max) {
		s->too_large = 1;
		return 0; /* aborts the transfer */
	}
	memcpy(s->data + s->len, ptr, n);
	s->len += n;
	return n;
}

static int perform(struct arena *a, const char *url, const char *form, const char *user,
                   const char *password, int timeout_ms, size_t max_bytes, struct httpc_resp *out)
{
	struct sink s;
	struct curl_slist *hdrs = NULL;
	CURL *c;
	CURLcode cc;
	int rc = ERR_OK;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	s.max = max_bytes;
	s.data = arena_alloc(a, max_bytes + 1);
	c = curl_easy_init();
	if (c == NULL)
		return ERR_INTERNAL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "medrin");
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never an environment proxy */
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (form != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
	}
	if (user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password != NULL ? password : "");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = ERR_TOO_LARGE;
	} else if (cc != CURLE_OK) {
		log_warn("httpc: request failed: %s", curl_easy_strerror(cc));
		rc = ERR_UNAVAILABLE;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		s.data[s.len] = '\0';
		out->body = s.data;
		out->len = s.len;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

int httpc_get(struct arena *a, const char *url, int timeout_ms, size_t max_bytes,
              struct httpc_resp *out)
{
	return perform(a, url, NULL, NULL, NULL, timeout_ms, max_bytes, out);
}

int httpc_post_form(struct arena *a, const char *url, const char *form, const char *user,
                    const char *password, int timeout_ms, size_t max_bytes, struct httpc_resp *out)
{
	return perform(a, url, form, user, password, timeout_ms, max_bytes, out);
}
