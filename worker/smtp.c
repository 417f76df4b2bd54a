/* smtp.c - one mail over SMTP with libcurl; see smtp.h.
 *
 * curl does the SMTP dialogue and the dot-stuffing of the upload; this file builds the
 * RFC 5322 message and maps curl's outcome to retry (ERR_UNAVAILABLE) or give up
 * (ERR_INVALID).
 */
#include "smtp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/util.h"
#include "security/random.h"

#define SMTP_MESSAGE_MAX (1024 * 1024)
#define SMTP_LINE_MAX 998 /* RFC 5322 2.1.1, without the CRLF */
#define SMTP_SUBJECT_MAX 900
#define SMTP_WORD_BYTES 45 /* 45 bytes -> 60 base64 chars: a 72-char encoded word */

static void seterr(char *errbuf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(char *errbuf, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, SMTP_ERRBUF_SIZE, fmt, ap);
	va_end(ap);
}

static int has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* envelope_ok: local@domain, both parts non-empty, one '@', nothing that could break
 * out of "<...>" in the SMTP envelope or a header. Looser than util_email_valid on
 * purpose: a sender domain without a dot ("no-reply@localhost") is fine here. */
static int envelope_ok(const char *addr)
{
	const char *at = strchr(addr, '@');

	if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"')
			return 0;
	}
	return 1;
}

int smtp_address(const char *from, char *out, size_t n)
{
	const char *b, *e;
	size_t len;

	if (from == NULL || has_crlf(from))
		return ERR_INVALID;
	b = strrchr(from, '<');
	if (b != NULL) {
		b++;
		e = strchr(b, '>');
		if (e == NULL)
			return ERR_INVALID;
	} else {
		b = from;
		while (*b == ' ' || *b == '\t')
			b++;
		e = b + strlen(b);
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
	}
	len = (size_t)(e - b);
	if (len == 0 || len >= n)
		return ERR_INVALID;
	memcpy(out, b, len);
	out[len] = '\0';
	return envelope_ok(out) ? ERR_OK : ERR_INVALID;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* put_subject writes the Subject header: as is when ASCII, else RFC 2047 encoded words
 * ("=?UTF-8?B?...?="), each from at most SMTP_WORD_BYTES bytes cut at UTF-8 character
 * boundaries, folded onto continuation lines. */
static int put_subject(struct buf *out, const char *subject)
{
	size_t len = strlen(subject), pos = 0;
	unsigned char enc[4 * ((SMTP_WORD_BYTES + 2) / 3) + 1];
	int rc;

	if (is_ascii(subject))
		return buf_printf(out, "Subject: %s\r\n", subject);
	rc = buf_puts(out, "Subject:");
	while (rc == ERR_OK && pos < len) {
		size_t n = len - pos;

		if (n > SMTP_WORD_BYTES) {
			n = util_utf8_cut(subject + pos, SMTP_WORD_BYTES);
			if (n == 0)
				n = SMTP_WORD_BYTES; /* not UTF-8 after all: cut anywhere, but
				                        progress */
		}
		EVP_EncodeBlock(enc, (const unsigned char *)subject + pos, (int)n);
		rc = buf_printf(out, "%s=?UTF-8?B?%s?=", pos == 0 ? " " : "\r\n ", (char *)enc);
		pos += n;
	}
	if (rc == ERR_OK)
		rc = buf_puts(out, "\r\n");
	return rc;
}

static int put_date(struct buf *out, time_t now)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return ERR_INVALID;
	return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	                  tm.tm_sec);
}

/* put_body copies body with every line ending (LF, CR, CRLF) made CRLF and lines longer
 * than SMTP_LINE_MAX bytes folded, never inside a UTF-8 sequence. */
static int put_body(struct buf *out, const char *body)
{
	const char *p = body;
	int rc = ERR_OK;

	while (rc == ERR_OK && *p) {
		size_t n = strcspn(p, "\r\n");
		size_t take = n;

		if (take > SMTP_LINE_MAX) {
			take = SMTP_LINE_MAX;
			while (take > 1 && ((unsigned char)p[take] & 0xC0) == 0x80)
				take--;
		}
		rc = buf_append(out, p, take);
		if (rc == ERR_OK)
			rc = buf_puts(out, "\r\n");
		p += take;
		if (take == n) {
			if (p[0] == '\r' && p[1] == '\n')
				p += 2;
			else if (p[0] == '\r' || p[0] == '\n')
				p += 1;
			else
				break; /* end of the body, already terminated */
		}
	}
	return rc;
}

int smtp_message(struct buf *out, const char *from, const char *to, const char *subject,
                 const char *body, time_t now, const char *id_domain)
{
	unsigned char rnd[16];
	char hex[33];
	int rc;

	if (has_crlf(from) || has_crlf(to) || has_crlf(subject) || has_crlf(id_domain) ||
	    strlen(subject) > SMTP_SUBJECT_MAX)
		return ERR_INVALID;
	random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	rc = put_date(out, now);
	if (rc == ERR_OK)
		rc = buf_printf(out, "From: %s\r\nTo: %s\r\n", from, to);
	if (rc == ERR_OK)
		rc = put_subject(out, subject);
	if (rc == ERR_OK)
		rc = buf_printf(out,
		                "Message-ID: <%s@%s>\r\n"
		                "MIME-Version: 1.0\r\n"
		                "Content-Type: text/plain; charset=utf-8\r\n"
		                "Content-Transfer-Encoding: 8bit\r\n"
		                "\r\n",
		                hex, id_domain);
	if (rc == ERR_OK)
		rc = put_body(out, body);
	return rc;
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct upload *u = userdata;
	size_t room = size * nmemb, n = u->len - u->pos;

	if (n > room)
		n = room;
	memcpy(ptr, u->data + u->pos, n);
	u->pos += n;
	return n;
}

int smtp_send(const struct config *cfg, const char *to, const char *subject, const char *body,
              char *errbuf)
{
	char from_addr[256], env_from[260], env_to[260], curlerr[CURL_ERROR_SIZE];
	struct curl_slist *rcpt = NULL;
	struct upload up;
	struct buf msg;
	CURL *c = NULL;
	CURLcode cc;
	long reply = 0;
	int rc;

	buf_init(&msg, NULL, SMTP_MESSAGE_MAX);
	if (errbuf != NULL)
		errbuf[0] = '\0';
	if (cfg->smtp_url == NULL || *cfg->smtp_url == '\0') {
		seterr(errbuf, "SMTP_URL is not set");
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (smtp_address(cfg->mail_from, from_addr, sizeof(from_addr)) != ERR_OK) {
		seterr(errbuf, "MAIL_FROM holds no valid address");
		rc = ERR_INVALID;
		goto out;
	}
	if (to == NULL || !util_email_valid(to) || subject == NULL || body == NULL) {
		seterr(errbuf, "invalid recipient, subject or body");
		rc = ERR_INVALID;
		goto out;
	}
	rc = smtp_message(&msg, cfg->mail_from, to, subject, body, time(NULL),
	                  strchr(from_addr, '@') + 1);
	if (rc) {
		seterr(errbuf,
		       rc == ERR_TOO_LARGE ? "message too large" : "line break in a header field");
		goto out;
	}
	snprintf(env_from, sizeof(env_from), "<%s>", from_addr);
	snprintf(env_to, sizeof(env_to), "<%s>", to);

	c = curl_easy_init();
	rcpt = curl_slist_append(NULL, env_to);
	if (c == NULL || rcpt == NULL) {
		seterr(errbuf, "libcurl initialisation failed");
		rc = ERR_INTERNAL;
		goto out;
	}
	up.data = buf_str(&msg);
	up.len = msg.len;
	up.pos = 0;
	curlerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		goto out;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
	/* 5xx: the server refused this mail for good (unknown recipient, policy). Anything
	 * else (no connection, timeout, 4xx "try later") is worth retrying. */
	rc = reply >= 500 && reply <= 599 ? ERR_INVALID : ERR_UNAVAILABLE;
	seterr(errbuf, "smtp: %s", curlerr[0] ? curlerr : curl_easy_strerror(cc));
out:
	curl_slist_free_all(rcpt);
	if (c != NULL)
		curl_easy_cleanup(c);
	/* The message holds the body (a code, maybe): wipe before returning the memory. */
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.cap);
	buf_free(&msg);
	return rc;
}
