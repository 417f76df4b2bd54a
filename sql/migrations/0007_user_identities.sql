-- 0007_user_identities: accounts linked to OpenID Connect providers (sign-in with Google
-- or any provider; docs/internals/oidc.md). One row per (provider, subject): the
-- provider's configured name (MEDRIN_OIDC_PROVIDERS) and its stable `sub` claim. email is
-- what the provider said when the identity was linked (for people; never used to sign in).
-- An account made by a provider has password_hash '' (no password) until forget/reset
-- sets one.

CREATE TABLE user_identities (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider  text NOT NULL CHECK (provider ~ '^[a-z0-9]{1,32}$'),
    subject   text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    email     text NOT NULL DEFAULT '',
    linked_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_identities_provider_subject_key UNIQUE (provider, subject)
);

-- one identity per provider per account (unlink names the provider), and the lookup by user
CREATE UNIQUE INDEX user_identities_user_provider_key ON user_identities (user_id, provider);
