-- 0005_resumes.sql - resumes, their sections and items (lib/domain/resumes.c).
--
-- A resume belongs to one user and goes with the account (ON DELETE CASCADE), so do its
-- sections and items. revision grows with every write of the resume (PUT, PATCH): a
-- compile of an unchanged resume while one is queued is recognised by it. pdf_* point to
-- the last compiled PDF under MEDRIN_FILES_DIR (served by nginx's internal /files/).
-- resume_cache_versions: one counter per user, bumped in the transaction of every write
-- to that user's resumes; the Redis cache of GET /resumes is valid only for the counter
-- value it was built from, so a read after a write is never stale, on any host
-- (docs/internals/resumes.md).

CREATE TABLE resumes (
	id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	title        text        NOT NULL CHECK (title <> ''),
	template     text        NOT NULL DEFAULT 'classic',
	contact_name     text    NOT NULL DEFAULT '',
	contact_email    text    NOT NULL DEFAULT '',
	contact_phone    text    NOT NULL DEFAULT '',
	contact_linkedin text    NOT NULL DEFAULT '',
	contact_github   text    NOT NULL DEFAULT '',
	contact_website  text    NOT NULL DEFAULT '',
	revision     bigint      NOT NULL DEFAULT 1,
	pdf_path     text        NULL,
	pdf_revision bigint      NULL,
	pdf_at       timestamptz NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX resumes_user_idx ON resumes (user_id, created_at, id);

CREATE TABLE resume_sections (
	id           uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
	resume_id    uuid    NOT NULL REFERENCES resumes (id) ON DELETE CASCADE,
	user_id      uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	section_type text    NOT NULL
	                     CHECK (section_type IN ('education', 'experience', 'project', 'skill', 'other')),
	title        text    NOT NULL DEFAULT '',
	position     integer NOT NULL CHECK (position >= 0)
);

CREATE INDEX resume_sections_resume_idx ON resume_sections (resume_id, position);

CREATE TABLE resume_items (
	id           uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
	section_id   uuid    NOT NULL REFERENCES resume_sections (id) ON DELETE CASCADE,
	user_id      uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	title        text    NOT NULL DEFAULT '',
	organization text    NOT NULL DEFAULT '',
	location     text    NOT NULL DEFAULT '',
	start_date   date    NULL,
	end_date     date    NULL,
	description  text    NOT NULL DEFAULT '',
	bullets      text[]  NOT NULL DEFAULT '{}',
	position     integer NOT NULL CHECK (position >= 0)
);

CREATE INDEX resume_items_section_idx ON resume_items (section_id, position);

CREATE TABLE resume_cache_versions (
	user_id uuid   PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	version bigint NOT NULL DEFAULT 1
);

-- GET /tasks/{id} is owner-only; "a compile of this resume is already queued" looks
-- among a user's live tasks of one kind.
CREATE INDEX tasks_user_kind_live_idx ON tasks (user_id, kind)
	WHERE status IN ('queued', 'running');
