-- 0003_users_profiles.sql - user management and job-board profiles.
--
-- email_changes: a pending change of address, confirmed by a signed, single-use,
-- expiring link (lib/domain/users_self.c). Only a hash of the link's secret is stored.
-- jobseekers / employers: one profile per user (UNIQUE user_id), owned by the user:
-- ON DELETE CASCADE, so deleting an account removes them in the same statement.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE email_changes (
	id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	new_email  text        NOT NULL CHECK (new_email = lower(btrim(new_email))),
	token_hash text        NOT NULL UNIQUE,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_changes_user_idx ON email_changes (user_id);

CREATE TABLE jobseekers (
	id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id    uuid        NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
	first_name text        NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
	last_name  text        NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
	location   text        NOT NULL DEFAULT '' CHECK (length(location) <= 200),
	phone      text        NOT NULL DEFAULT '' CHECK (phone = '' OR phone ~ '^\+[1-9][0-9]{1,14}$'),
	dob        date        CHECK (dob >= DATE '1900-01-01'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE employers (
	id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id     uuid        NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
	name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	location    text        NOT NULL DEFAULT '' CHECK (length(location) <= 200),
	description text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
	mission     text        NOT NULL DEFAULT '' CHECK (length(mission) <= 2000),
	vision      text        NOT NULL DEFAULT '' CHECK (length(vision) <= 2000),
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);
-- GET /employers: newest first, keyset on (created_at, id).
CREATE INDEX employers_page_idx ON employers (created_at DESC, id DESC);

-- GET /users: newest first, keyset on (created_at, id), optionally filtered by role or
-- account_type; ?q= is a substring search over email and names (trigram index).
CREATE INDEX users_page_idx ON users (created_at DESC, id DESC);
CREATE INDEX users_role_page_idx ON users (role, created_at DESC, id DESC);
CREATE INDEX users_type_page_idx ON users (account_type, created_at DESC, id DESC);
CREATE INDEX users_search_idx ON users
	USING gin ((lower(email) || ' ' || lower(first_name) || ' ' || lower(last_name)) gin_trgm_ops);

-- Deleting an account also deletes the mails queued or kept for its address
-- (mail tasks carry the address in payload->>'to', not a user_id).
CREATE INDEX tasks_mail_to_idx ON tasks ((payload ->> 'to')) WHERE kind = 'mail';
