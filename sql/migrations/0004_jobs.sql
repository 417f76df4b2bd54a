-- 0004_jobs.sql - the job-application tracker: jobs and their notes (with reminders).
--
-- lib/domain/jobs.c, docs/internals/jobs.md. Every list is a keyset page on
-- (user_id[, status], sort key, id): the indexes below serve each sort order in both
-- directions (a backward index scan for the descending ones), with or without the
-- status filter, and the per-status counts of GET /jobs/stats (an index-only scan).

CREATE TABLE jobs (
	id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	company_name    text        NOT NULL CHECK (length(company_name) BETWEEN 1 AND 200),
	position        text        NOT NULL CHECK (length(position) BETWEEN 1 AND 200),
	status          text        NOT NULL
	                            CHECK (status IN ('wishlist', 'applied', 'interviewing', 'offer',
	                                              'accepted', 'rejected', 'withdrawn')),
	applied_on      date        NOT NULL,
	url             text        NULL CHECK (length(url) <= 2048),
	location        text        NULL CHECK (length(location) <= 200),
	description     text        NULL CHECK (length(description) <= 10000),
	salary_min      bigint      NULL CHECK (salary_min >= 0),
	salary_max      bigint      NULL CHECK (salary_max >= 0),
	salary_currency text        NULL CHECK (salary_currency ~ '^[A-Z]{3}$'),
	salary_period   text        NULL CHECK (salary_period IN ('hour', 'day', 'week', 'month', 'year')),
	created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
	-- a salary is all or nothing: a currency and a period, with a min, a max or both
	CHECK ((salary_currency IS NULL) = (salary_period IS NULL)),
	CHECK (salary_currency IS NOT NULL OR (salary_min IS NULL AND salary_max IS NULL)),
	CHECK (salary_currency IS NULL OR salary_min IS NOT NULL OR salary_max IS NOT NULL),
	CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max)
);

-- sort=applied_on / -applied_on, and the user_id prefix for the foreign key's cascade
CREATE INDEX jobs_user_applied_idx ON jobs (user_id, applied_on, id);
-- sort=created_at / -created_at (the default: -created_at)
CREATE INDEX jobs_user_created_idx ON jobs (user_id, created_at, id);
-- ?status= with either sort; also the per-status counts (index-only scan)
CREATE INDEX jobs_user_status_applied_idx ON jobs (user_id, status, applied_on, id);
CREATE INDEX jobs_user_status_created_idx ON jobs (user_id, status, created_at, id);

-- A note's reminder is one task of kind 'reminder' (run_at = reminder_time), queued and
-- cancelled in the note's transaction; reminder_task names it. The worker fires it with
-- one UPDATE guarded by "reminder_task = this task AND reminded_at IS NULL" in the
-- transaction that queues the mail, so it mails exactly once whoever runs it.
CREATE TABLE notes (
	id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	job_id        uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	content       text        NOT NULL CHECK (length(content) BETWEEN 1 AND 10000),
	reminder_time timestamptz NULL,
	reminded_at   timestamptz NULL,
	reminder_task uuid        NULL,
	created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- GET /jobs/{id}/notes (oldest first, keyset) and the job's cascade
CREATE INDEX notes_job_created_idx ON notes (job_id, created_at, id);
-- cancelling a job's reminders on delete looks them up by job (covered above); the
-- worker finds its note by primary key.
