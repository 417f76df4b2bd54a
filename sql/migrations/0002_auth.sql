-- 0002_auth.sql - the durable task queue and the audit log.
--
-- tasks: the queue medrin-worker runs (lib/domain/tasks.c, docs/internals/tasks.md).
-- A task is claimed with FOR UPDATE SKIP LOCKED and held under a lease (locked_until);
-- a task whose lease ran out while 'running' is taken over by another worker.

CREATE TABLE tasks (
	id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	kind         text        NOT NULL CHECK (kind <> ''),
	user_id      uuid        NULL REFERENCES users (id) ON DELETE CASCADE,
	payload      jsonb       NOT NULL,
	status       text        NOT NULL DEFAULT 'queued'
	                         CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
	attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts integer     NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
	run_at       timestamptz NOT NULL DEFAULT now(),
	locked_until timestamptz,
	result       jsonb,
	error        text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Claiming and "when is the next one due" only look at live tasks; finished rows stay
-- out of this index however many accumulate.
CREATE INDEX tasks_due_idx ON tasks (status, run_at)
	WHERE status IN ('queued', 'running');
CREATE INDEX tasks_user_idx ON tasks (user_id) WHERE user_id IS NOT NULL;

-- audit_log: one row per security event (lib/domain/audit.c). user_id has no foreign
-- key on purpose: audit rows outlive the accounts they describe (a deleted account's
-- history must still be readable, with its id). ip is text, not inet: the value comes
-- from the web server (REMOTE_ADDR) and an audit write must never fail on its format.
CREATE TABLE audit_log (
	id         bigserial   PRIMARY KEY,
	user_id    uuid        NULL,
	email      text        NULL,
	event      text        NOT NULL CHECK (event <> ''),
	ip         text        NULL,
	user_agent text        NULL,
	detail     jsonb       NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_user_idx ON audit_log (user_id, created_at);
CREATE INDEX audit_log_email_idx ON audit_log (email, created_at) WHERE email IS NOT NULL;
