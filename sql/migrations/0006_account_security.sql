-- 0006_account_security.sql - one email normalisation for the code and the database
-- (docs/auth.md "Addresses").
--
-- The code (util_normalize_email + util_email_valid) trims ASCII white space, lower-cases
-- ASCII and then accepts printable ASCII only (0x21-0x7e): no space, no control, no
-- no-break or zero-width space, no non-ASCII local part (PostgreSQL's lower() folds those
-- by locale, which is what made such a registration fail at verification). The function
-- below is the same rule in SQL, for medrinctl and ad-hoc queries; the CHECK keeps every
-- new row to it. NOT VALID: rows written before this migration are not re-checked (an
-- address that was accepted keeps working), every new or changed row is.
CREATE FUNCTION medrin_email_normalise(addr text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT CASE WHEN lower(btrim(addr, E' \t\n\r\f\v')) ~ '^[!-~]+@[!-~]+$'
                    THEN lower(btrim(addr, E' \t\n\r\f\v')) END
    $$;

ALTER TABLE users
    ADD CONSTRAINT users_email_ascii CHECK (email ~ '^[!-~]+$') NOT VALID;
