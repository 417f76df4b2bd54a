-- 0001_init: the migrations ledger and the users table.
-- Applied by `medrinctl migrate` inside one transaction with its schema_migrations row;
-- never edit this file once released (the runner refuses a changed checksum).

CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email          text NOT NULL,
    password_hash  text NOT NULL,
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT 'user'
                   CHECK (role IN ('user', 'staff', 'admin')),
    account_type   text NOT NULL DEFAULT 'none'
                   CHECK (account_type IN ('jobseeker', 'employer', 'none')),
    email_verified boolean NOT NULL DEFAULT false,
    login_otp      boolean NOT NULL DEFAULT false,
    pending_email  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
