/* mailer.h - the mails Medrin sends, composed here and queued as "mail" tasks.
 *
 * Plain-text mails with clear subjects. The payload is {"to","subject","enc"}: enc is the
 * record {body[, drop]} sealed (security/seal.h, purpose MAILER_SEAL_PURPOSE, bound to
 * "to") with a key derived from SECRET_KEY, so no code sits in clear in the tasks table,
 * its dead row versions, WAL or backups. Only the worker (worker/main.c run_mail) opens
 * it and sends the body with libcurl over SMTP_URL from MAIL_FROM; a "drop" stand-in it
 * discards unsent. Queuing is durable (tasks_enqueue) and happens before the API answers
 * 202.
 */
#ifndef MEDRIN_MAILER_H
#define MEDRIN_MAILER_H

#include "base/err.h"

struct arena;
struct db;
struct config;

/* A one-time code for module "register" / "login" / "forgetpassword". */
int mailer_queue_otp(struct db *db, const struct config *cfg, struct arena *a, const char *to,
                     const char *module, const char *code, int expiry_seconds) MUSTCHECK;
#define MAILER_SEAL_PURPOSE "mail"

/* The stand-in for an address that gets no code (an unknown account, nothing waiting):
 * built, sealed and queued exactly like mailer_queue_otp, marked "drop" inside the sealed
 * part, so both paths do the same work (no timing difference) and the worker discards it. */
int mailer_queue_otp_standin(struct db *db, const struct config *cfg, struct arena *a,
                             const char *to, const char *module, const char *code,
                             int expiry_seconds) MUSTCHECK;
/* "Someone tried to register with your address" (no code: the account exists). */
int mailer_queue_register_notice(struct db *db, const struct config *cfg, struct arena *a,
                                 const char *to) MUSTCHECK;
/* "Someone else tried to sign up with your address": a second registration with another
 * password arrived while one was waiting; the first is kept (accounts.c, register). */
int mailer_queue_register_conflict(struct db *db, const struct config *cfg, struct arena *a,
                                   const char *to) MUSTCHECK;
/* "Your password was changed / reset" notice. */
int mailer_queue_password_changed(struct db *db, const struct config *cfg, struct arena *a,
                                  const char *to) MUSTCHECK;
/* "A sign-in provider was linked to your account" (provider: its configured name). */
int mailer_queue_oidc_linked(struct db *db, const struct config *cfg, struct arena *a,
                             const char *to, const char *provider) MUSTCHECK;

/* The link that confirms a new address (users_self.c); token is secret. */
int mailer_queue_email_confirm(struct db *db, const struct config *cfg, struct arena *a,
                               const char *to, const char *token) MUSTCHECK;
/* "Your address was changed to new_email", to the old address. */
int mailer_queue_email_changed(struct db *db, const struct config *cfg, struct arena *a,
                               const char *to, const char *new_email) MUSTCHECK;

/* A note's reminder (jobs_reminder_fire): the job's company and position, the note, the
 * time it was due (text) and a link to the job (MEDRIN_PUBLIC_URL/jobs/{id}); late says
 * it is sent well after that time (no worker was running). */
struct mailer_reminder {
	const char *to;
	const char *job_id;
	const char *company;
	const char *position;
	const char *note;
	const char *due;
	int late;
};
int mailer_queue_reminder(struct db *db, const struct config *cfg, struct arena *a,
                          const struct mailer_reminder *m) MUSTCHECK;

#endif
