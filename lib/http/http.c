/* http.c - the transport-free request/response model; see http.h. */
#include "http/http.h"

#include <string.h>
#include <strings.h>
#include "base/arena.h"
#include "base/log.h"

const char *http_param(const struct http_req *r, const char *name)
{
	if (r == NULL || r->getparam == NULL || name == NULL)
		return NULL;
	return r->getparam(r->getparam_ctx, name);
}

#define CGI_NAME_MAX 128

const char *http_header(const struct http_req *r, const char *name)
{
	char cgi[CGI_NAME_MAX];
	size_t len = strlen(name);
	size_t o = 0;

	if (strcasecmp(name, "Content-Type") == 0) {
		const char *v = http_param(r, "CONTENT_TYPE");

		return v != NULL ? v : r->content_type;
	}
	if (strcasecmp(name, "Content-Length") == 0)
		return http_param(r, "CONTENT_LENGTH");
	if (len == 0 || len + 5 >= sizeof(cgi))
		return NULL;
	memcpy(cgi, "HTTP_", 5);
	o = 5;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '-')
			c = '_';
		else if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		cgi[o++] = c;
	}
	cgi[o] = '\0';
	return http_param(r, cgi);
}

void http_resp_init(struct http_resp *resp, struct arena *a)
{
	resp->status = 200;
	resp->content_type = NULL;
	buf_init(&resp->body, a, HTTP_RESP_LIMIT);
	resp->nheaders = 0;
}

static int header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

void http_resp_header(struct http_resp *resp, struct arena *a, const char *name, const char *value)
{
	if (!header_safe(name) || !header_safe(value)) {
		log_warn("response header dropped: CR or LF in it");
		return;
	}
	for (int i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0) {
			resp->headers[i].value = arena_strdup(a, value);
			return;
		}
	}
	if (resp->nheaders >= HTTP_MAX_HEADERS) {
		/* The name is ours (a literal in the code), not the client's. */
		log_warn("response header dropped: more than %d headers (%s)", HTTP_MAX_HEADERS,
		         name);
		return;
	}
	resp->headers[resp->nheaders].name = arena_strdup(a, name);
	resp->headers[resp->nheaders].value = arena_strdup(a, value);
	resp->nheaders++;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

const char *http_method_name(const char *method)
{
	static const char *const known[] = {"GET",   "HEAD",   "POST",   "PUT",
	                                    "PATCH", "DELETE", "OPTIONS"};

	for (size_t i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "OTHER";
}

int http_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;

	while (p < end) {
		unsigned char c = *p;

		if (c < 0x80) {
			p++;
			continue;
		}
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */

		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return 0; /* continuation byte, C0/C1, F5..FF */
		}
		if ((size_t)(end - p) <= need)
			return 0;
		if (p[1] < lo || p[1] > hi)
			return 0;
		for (size_t i = 2; i <= need; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += need + 1;
	}
	return 1;
}
