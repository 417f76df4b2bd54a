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
#include <time.h>

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

/* queue_expiring builds {"to","subject","enc"[,"expires_at"]} and enqueues it (kind
 * "mail"). The body never reaches PostgreSQL in clear: "enc" is the record {body[, drop]}
 * sealed with a key derived from SECRET_KEY (security/seal.h), bound to the recipient;
 * only medrin-worker opens it. drop marks the stand-in an unknown address gets (the
 * worker discards it unsent), which is indistinguishable at rest from a real mail.
 * expires_at (epoch seconds, 0: none) lets the worker drop a code mail that could only
 * arrive after its code expired. */
static int queue_expiring(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                          const char *subject, const char *body, int drop, long expires_at)
{
	struct record payload, inner;
	char *plain, *sealed = NULL;
	char exp[24];
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
	snprintf(exp, sizeof(exp), "%ld", expires_at);
	if (record_set(&payload, "to", to) != ERR_OK ||
	    record_set(&payload, "subject", subject) != ERR_OK ||
	    record_set(&payload, "enc", sealed) != ERR_OK ||
	    (expires_at > 0 && record_set(&payload, "expires_at", exp) != ERR_OK))
		return ERR_INTERNAL;
	return tasks_enqueue(db, a, "mail", NULL, &payload, NULL);
}

static int queue(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                 const char *subject, const char *body, int drop)
{
	return queue_expiring(db, cfg, a, to, subject, body, drop, 0);
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
	rc = queue_expiring(db, cfg, a, to, t->subject, body, drop,
	                    (long)time(NULL) + expiry_seconds);
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

int mailer_queue_email_confirm(struct db *db, const struct config *cfg, struct arena *a,
                               const char *to, const char *token)
{
	const char *base = cfg != NULL && cfg->public_url != NULL ? cfg->public_url : "";
	int rc;

	if (to == NULL || !util_email_valid(to) || token == NULL || *token == '\0') {
		rc = ERR_INVALID;
		goto out;
	}
	rc = queue(db, cfg, a, to, "Confirm your new Medrin email address",
	           secret_printf(a,
	                         "Hello,\n"
	                         "\n"
	                         "To make this the email address of your Medrin account, open\n"
	                         "this link within 24 hours:\n"
	                         "\n"
	                         "%s/api/v1/auth/confirm?token=%s\n"
	                         "\n"
	                         "It works only once. If you did not ask for this, ignore this\n"
	                         "mail: nothing changes without the link.\n"
	                         "\n"
	                         "-- \n"
	                         "Medrin\n",
	                         base, token),
	           0);
out:
	if (rc)
		log_warn("mailer: email confirmation link not queued: %s", err_name(rc));
	return rc;
}

int mailer_queue_email_changed(struct db *db, const struct config *cfg, struct arena *a,
                               const char *to, const char *new_email)
{
	int rc;

	if (to == NULL || !util_email_valid(to) || new_email == NULL) {
		rc = ERR_INVALID;
		goto out;
	}
	rc = queue(db, cfg, a, to, "Your Medrin email address was changed",
	           arena_printf(a,
	                        "Hello,\n"
	                        "\n"
	                        "The email address of your Medrin account was just changed to\n"
	                        "%s. Mail for the account now goes there, and you sign in\n"
	                        "with it.\n"
	                        "\n"
	                        "If it was not you, reset your password at %s and contact us.\n"
	                        "\n"
	                        "-- \n"
	                        "Medrin\n",
	                        new_email, site(cfg)),
	           0);
out:
	if (rc)
		log_warn("mailer: email-changed notice not queued: %s", err_name(rc));
	return rc;
}

int mailer_queue_oidc_linked(struct db *db, const struct config *cfg, struct arena *a,
                             const char *to, const char *provider)
{
	int rc;

	if (to == NULL || !util_email_valid(to) || provider == NULL) {
		rc = ERR_INVALID;
		goto out;
	}
	rc = queue(db, cfg, a, to, "A sign-in provider was linked to your Medrin account",
	           arena_printf(a,
	                        "Hello,\n"
	                        "\n"
	                        "Your Medrin account can now be signed in to with \"%s\": the\n"
	                        "provider confirmed that this email address is yours, so it was\n"
	                        "linked to your account.\n"
	                        "\n"
	                        "If it was you, there is nothing more to do.\n"
	                        "\n"
	                        "If it was not you, sign in at %s, remove the provider from your\n"
	                        "account and reset your password.\n"
	                        "\n"
	                        "-- \n"
	                        "Medrin\n",
	                        provider, site(cfg)),
	           0);
out:
	if (rc)
		log_warn("mailer: provider-linked notice not queued: %s", err_name(rc));
	return rc;
}

/* one_line: s with every control character (CR, LF, tab, ...) as a space, for the subject. */
static const char *one_line(struct arena *a, const char *s)
{
	char *o = arena_strdup(a, s != NULL ? s : "");

	for (unsigned char *p = (unsigned char *)o; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return o;
}

int mailer_queue_reminder(struct db *db, const struct config *cfg, struct arena *a,
                          const struct mailer_reminder *m)
{
	const char *company, *position, *subject, *body, *link;
	const char *base = cfg != NULL && cfg->public_url != NULL ? cfg->public_url : "";
	size_t blen = strlen(base);
	int rc;

	if (m == NULL || m->to == NULL || !util_email_valid(m->to) || m->job_id == NULL) {
		rc = ERR_INVALID;
		goto out;
	}
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	company = one_line(a, m->company);
	position = one_line(a, m->position);
	link = arena_printf(a, "%.*s/jobs/%s", (int)blen, base, m->job_id);
	subject = arena_printf(a, "%s: %s at %s", m->late ? "Late reminder" : "Reminder", position,
	                       company);
	body = arena_printf(
	    a,
	    "Hello,\n"
	    "\n"
	    "Here is the reminder you set on your job application.\n"
	    "\n"
	    "Company:  %s\n"
	    "Position: %s\n"
	    "Due:      %s\n"
	    "%s"
	    "\n"
	    "Your note:\n"
	    "\n"
	    "%s\n"
	    "\n"
	    "Open the application: %s\n"
	    "\n"
	    "-- \n"
	    "Medrin\n",
	    company, position, m->due != NULL ? m->due : "",
	    m->late ? "\nThis reminder is late: it could not be sent at the time above (no\n"
	              "Medrin worker was running then, or the time had already passed when\n"
	              "it was set), so it is sent now.\n"
	            : "",
	    m->note != NULL ? m->note : "", link);
	rc = queue(db, cfg, a, m->to, subject, body, 0);
out:
	if (rc)
		log_warn("mailer: reminder not queued: %s", err_name(rc));
	return rc;
}
