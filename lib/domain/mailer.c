/* mailer.c - composes Medrin's mails and queues them as "mail" tasks; see mailer.h.
 *
 * Texts are plain, short, and free of anything the reader could mistake for a code
 * besides the code itself (the code stands alone on its own line). Bodies holding a code
 * are built in secret arena memory (wiped on reset); nothing here logs a code or a body.
 * The worker redacts a delivered mail's body in the tasks table (tasks_succeed).
 */
#include "domain/mailer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/tasks.h"
#include "security/seal.h"

struct otp_text {
	const char *module;
	const char *subject;
	const char *purpose; /* "... is your code to <purpose>" */
};

static const struct otp_text otp_texts[] = {
    {"register", "Your Medrin verification code",
     "confirm your email address and "
     "finish creating your Medrin account"},
    {"login", "Your Medrin sign-in code", "sign in to Medrin"},
    {"forgetpassword", "Your Medrin password reset code", "reset your Medrin password"},
};

/* secret_printf formats into arena memory that is wiped on reset. */
static char *secret_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *secret_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	s = arena_alloc_secret(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static const char *site(const struct config *cfg)
{
	return cfg != NULL && cfg->public_url != NULL && *cfg->public_url ? cfg->public_url
	                                                                  : "Medrin";
}

/* queue builds {"to","subject","enc"} and enqueues it (kind "mail"). The body never
 * reaches PostgreSQL in clear: "enc" is the record {body[, drop]} sealed with a key
 * derived from SECRET_KEY (security/seal.h), bound to the recipient; only medrin-worker
 * opens it. drop marks the stand-in an unknown address gets (the worker discards it
 * unsent), which is indistinguishable at rest from a real mail. */
static int queue(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                 const char *subject, const char *body, int drop)
{
	struct record payload, inner;
	char *plain, *sealed = NULL;
	int rc;

	memset(&inner, 0, sizeof inner);
	if (record_set(&inner, "body", body) != ERR_OK ||
	    (drop && record_set(&inner, "drop", "1") != ERR_OK))
		return ERR_INTERNAL;
	plain = record_encode(a, &inner);
	rc = seal_text(a, cfg != NULL ? cfg->secret_key : NULL, MAILER_SEAL_PURPOSE, to, plain,
	               &sealed);
	explicit_bzero(plain, strlen(plain));
	if (rc != ERR_OK)
		return rc;
	memset(&payload, 0, sizeof payload);
	if (record_set(&payload, "to", to) != ERR_OK ||
	    record_set(&payload, "subject", subject) != ERR_OK ||
	    record_set(&payload, "enc", sealed) != ERR_OK)
		return ERR_INTERNAL;
	return tasks_enqueue(db, a, "mail", NULL, &payload, NULL);
}

static int queue_otp(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                     const char *module, const char *code, int expiry_seconds, int drop)
{
	const struct otp_text *t = NULL;
	const char *body;
	int minutes;
	int rc;

	for (size_t i = 0; i < sizeof(otp_texts) / sizeof(otp_texts[0]); i++)
		if (module != NULL && strcmp(module, otp_texts[i].module) == 0)
			t = &otp_texts[i];
	if (t == NULL || to == NULL || !util_email_valid(to) || code == NULL || *code == '\0') {
		rc = ERR_INVALID;
		goto out;
	}
	minutes = expiry_seconds <= 60 ? 1 : (expiry_seconds + 59) / 60;
	body = secret_printf(
	    a,
	    "Hello,\n"
	    "\n"
	    "Here is your code to %s:\n"
	    "\n"
	    "%s\n"
	    "\n"
	    "It expires in %d minute%s and works only once.\n"
	    "\n"
	    "If you did not ask for it, you can ignore this mail: nothing happens without\n"
	    "the code. Never share it; Medrin will never ask you for it.\n"
	    "\n"
	    "-- \n"
	    "Medrin\n",
	    t->purpose, code, minutes, minutes == 1 ? "" : "s");
	rc = queue(db, cfg, a, to, t->subject, body, drop);
out:
	if (rc)
		log_warn("mailer: %s code mail not queued: %s", module ? module : "?",
		         err_name(rc));
	return rc;
}

int mailer_queue_otp(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                     const char *module, const char *code, int expiry_seconds)
{
	return queue_otp(db, cfg, a, to, module, code, expiry_seconds, 0);
}

int mailer_queue_otp_standin(struct db *db, const struct config *cfg, struct arena *a,
                             const char *to, const char *module, const char *code,
                             int expiry_seconds)
{
	return queue_otp(db, cfg, a, to, module, code, expiry_seconds, 1);
}

/* The notices: no code, one link (the site) at most. */
struct notice {
	const char *what; /* for the log line */
	const char *subject;
	const char *body; /* one %s: the site */
};

static const struct notice notice_register = {
    "register notice", "Someone tried to create a Medrin account with your address",
    "Hello,\n"
    "\n"
    "Someone just tried to create a Medrin account with this email address, but\n"
    "you already have one, so no new account was made.\n"
    "\n"
    "If it was you, sign in at %s instead. If you forgot your password, use\n"
    "\"Forgot password\" there to reset it.\n"
    "\n"
    "If it was not you, you can ignore this mail: your account is unchanged.\n"};

static const struct notice notice_conflict = {
    "sign-up conflict notice", "Someone else tried to sign up with your address",
    "Hello,\n"
    "\n"
    "A sign-up for a Medrin account with this email address was already waiting for\n"
    "its code when another one arrived with a different password. The second one was\n"
    "refused; the first is unchanged and its code still works, but only in the app\n"
    "that started it.\n"
    "\n"
    "If the first sign-up was yours, finish it there. If neither was you, someone may\n"
    "be trying to use your address; ignore this mail and nothing will be created.\n"
    "You can also sign up later at %s.\n"};

static const struct notice notice_password = {
    "password notice", "Your Medrin password was changed",
    "Hello,\n"
    "\n"
    "The password of your Medrin account was just changed, and every session that\n"
    "was signed in with the old one has been signed out.\n"
    "\n"
    "If it was you, there is nothing more to do.\n"
    "\n"
    "If it was not you, reset your password now at %s (\"Forgot password\")\n"
    "and check the email address on your account.\n"};

static int queue_notice(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                        const struct notice *n)
{
	int rc;

	if (to == NULL || !util_email_valid(to)) {
		rc = ERR_INVALID;
		goto out;
	}
	/* The format is one of the constant bodies above, never input. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	const char *body = arena_printf(a, n->body, site(cfg));
#pragma GCC diagnostic pop

	rc = queue(db, cfg, a, to, n->subject, arena_printf(a, "%s\n-- \nMedrin\n", body), 0);
out:
	if (rc)
		log_warn("mailer: %s not queued: %s", n->what, err_name(rc));
	return rc;
}

int mailer_queue_register_notice(struct db *db, const struct config *cfg, struct arena *a,
                                 const char *to)
{
	return queue_notice(db, cfg, a, to, &notice_register);
}

int mailer_queue_register_conflict(struct db *db, const struct config *cfg, struct arena *a,
                                   const char *to)
{
	return queue_notice(db, cfg, a, to, &notice_conflict);
}

int mailer_queue_password_changed(struct db *db, const struct config *cfg, struct arena *a,
                                  const char *to)
{
	return queue_notice(db, cfg, a, to, &notice_password);
}
