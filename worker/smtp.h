/* smtp.h - sends one plain-text mail over SMTP with libcurl (medrin-worker's "mail" kind).
 *
 * The message is RFC 5322 (Date, From, To, Subject, Message-ID, MIME-Version,
 * Content-Type text/plain; charset=utf-8, 8bit, CRLF line endings), sent to cfg->smtp_url
 * (smtp:// with opportunistic STARTTLS, or smtps://; credentials may be in the URL) from
 * cfg->mail_from ("Name <addr>" or "addr"). Connect timeout 5 s, whole transfer 20 s.
 * Header injection is impossible: a recipient that is not a plain address, or a subject
 * or sender holding CR or LF, is refused before anything is sent.
 * Call curl_global_init once before the first smtp_send (the worker does, at start).
 */
#ifndef MEDRIN_SMTP_H
#define MEDRIN_SMTP_H

#include <stddef.h>
#include <time.h>
#include "base/err.h"

struct config;
struct buf;

#define SMTP_ERRBUF_SIZE 256

/* smtp_send delivers one mail. On failure errbuf (SMTP_ERRBUF_SIZE bytes, may be NULL)
 * holds a short message safe to store and log: it never contains the body, nor the URL
 * (which may carry a password).
 * Errors: ERR_INVALID (bad recipient/subject/sender, or the server refused for good with
 * a 5xx reply: retrying will not help), ERR_UNAVAILABLE (connection, timeout, 4xx: retry
 * later), ERR_TOO_LARGE (message past 1 MiB). */
int smtp_send(const struct config *cfg, const char *to, const char *subject, const char *body,
              char *errbuf) MUSTCHECK;

/* The pieces, exported for unit tests. */

/* smtp_address extracts the address from "Name <addr>" or " addr " into out (size n).
 * ERR_INVALID if there is none or it does not fit. */
int smtp_address(const char *from, char *out, size_t n) MUSTCHECK;

/* smtp_message builds the whole message (headers + body, CRLF line endings, body lines
 * longer than 998 bytes folded at a UTF-8 boundary) into out, a heap or arena buffer.
 * now is the Date; id_domain goes after the '@' of the Message-ID. */
int smtp_message(struct buf *out, const char *from, const char *to, const char *subject,
                 const char *body, time_t now, const char *id_domain) MUSTCHECK;

#endif
