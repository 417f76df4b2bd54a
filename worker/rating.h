/* rating.h - the AI rating of a resume through a Gemini-compatible generateContent
 * endpoint (docs/internals/resumes.md, "Rating").
 *
 * POST {GEMINI_API_URL}/models/{GEMINI_MODEL}:generateContent with x-goog-api-key, the
 * resume text as the user turn, and generationConfig {responseMimeType
 * "application/json", responseSchema {rating, reasoning, strengths, improvements}}. The
 * reply's first candidate's text must be that JSON object: rating an integer 0..100,
 * reasoning a non-empty string, strengths and improvements arrays of strings. Up to
 * RATING_TRIES requests per attempt: 429 and 5xx (and timeouts, refused connections)
 * are retried after Retry-After (seconds, capped at RATING_RETRY_AFTER_MAX) or 1, 2 s.
 */
#ifndef MEDRIN_WORKER_RATING_H
#define MEDRIN_WORKER_RATING_H

#include <json-c/json.h>

struct arena;
struct config;

#define RATING_TRIES 3
#define RATING_RETRY_AFTER_MAX 20
#define RATING_REPLY_MAX (1024 * 1024)
#define RATING_ERRBUF_SIZE 256

/* rating_request returns ERR_OK with *result (new object: rating, reasoning, strengths,
 * improvements; the caller owns it), ERR_INVALID (no key, a malformed reply, a 4xx other
 * than 429: not retried) or ERR_UNAVAILABLE (still 429/5xx/unreachable after the tries:
 * the task is retried later), with a message in err that names no key or URL.
 * stop(arg), when not NULL, is checked between tries: nonzero gives up. */
int rating_request(const struct config *cfg, struct arena *a, const char *resume_text,
                   json_object **result, char err[RATING_ERRBUF_SIZE], int (*stop)(void *),
                   void *arg);

/* rating_parse validates a generateContent reply body (exposed for tests). */
int rating_parse(const char *body, json_object **result, char err[RATING_ERRBUF_SIZE]);

#endif
