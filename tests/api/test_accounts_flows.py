"""The account flows as domain functions (issue "One shape"): defects found in review,
each shown against the real stack.

- Authorisation uses the role stored with the session, never the JWT's role claim: a
  token forged with the real signing key and role "admin" gets no staff route.
- A code whose mail cannot be queued (PostgreSQL refuses the INSERT) costs the user
  nothing: no request is counted, no pending entry stays, and the next try gets the full
  budget — for register and for the login OTP step.
- The user cache is dropped after the password-reset transaction commits, so a read while
  the transaction is open cannot re-cache the old row.
"""

import threading
import time
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, psql
from test_auth import (NoSecretsMixin, PASSWORD, bearer, fresh_email, login, mail_code, post,
                       redis_cli, redis_prefix, register, remember_tokens, secret,
                       start_register)
from test_tokens import sign
from test_auth import jwt_parts


class SessionRoleTest(unittest.TestCase):
    def setUp(self):
        harness.require_test_routes(self)
        self.key = harness.env_get("JWT_SECRET_KEY")
        if harness.env_get("JWT_ALGORITHM", "HS256") != "HS256" or not self.key:
            self.fail("the test stack signs with HS256 and a known key")

    def test_role_claim_alone_grants_nothing(self):
        email, tok = register()
        header, claims = jwt_parts(tok["access_token"])
        # The staff route answers 403 to the user as issued.
        assert_problem(call("GET", "/_test/staff", headers=bearer(tok["access_token"])), 403,
                       "forbidden")
        # A token for the same live session, signed with the real key, claiming admin:
        # the signature and every claim check out, but the session says "user".
        now = int(time.time())
        forged = dict(claims, role="admin", iat=now - 5, exp=now + 600, jti=uuid.uuid4().hex)
        token = sign(header, forged, self.key)
        self.assertEqual(assert_json(call("GET", "/auth/me", headers=bearer(token)), 200)["email"],
                         email, "the forged token must be otherwise valid")
        assert_problem(call("GET", "/_test/staff", headers=bearer(token)), 403, "forbidden")

    def test_role_stored_with_the_session_is_what_counts(self):
        email, tok = register()
        sid = jwt_parts(tok["access_token"])[1]["sid"]
        # What a role change does to live sessions (sessions_set_role): the stored role.
        redis_cli("HSET", redis_prefix() + "sess:" + sid, "role", "staff")
        body = assert_json(call("GET", "/_test/staff", headers=bearer(tok["access_token"])), 200)
        self.assertEqual(body["role"], "staff")
        self.assertEqual(body["user_id"], tok["user"]["id"])
        redis_cli("HSET", redis_prefix() + "sess:" + sid, "role", "user")
        assert_problem(call("GET", "/_test/staff", headers=bearer(tok["access_token"])), 403,
                       "forbidden")


def refuse_mail_to(testcase, email):
    """Makes PostgreSQL refuse (as if unreachable) every mail task to email, until the
    test ends."""
    fn = "refuse_%s" % uuid.uuid4().hex[:8]
    psql("CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "IF NEW.payload->>'to' = '%s' THEN RAISE EXCEPTION 'test outage' "
         "USING ERRCODE = '08006'; END IF; RETURN NEW; END $$;" % (fn, email))
    psql("CREATE TRIGGER %s BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION %s()"
         % (fn, fn))

    def drop():
        psql("DROP TRIGGER IF EXISTS %s ON tasks" % fn)
        psql("DROP FUNCTION IF EXISTS %s()" % fn)

    testcase.addCleanup(drop)
    return drop


class MailNotQueuedTest(unittest.TestCase):
    def test_register_costs_nothing_when_the_mail_is_not_queued(self):
        email = fresh_email("noqueue")
        drop = refuse_mail_to(self, email)
        for _ in range(2):
            assert_problem(start_register(email), 503, "dependency_unavailable")
        self.assertEqual(redis_cli("EXISTS", redis_prefix() + "pending:register:" + email), "0")
        self.assertEqual(redis_cli("EXISTS", redis_prefix() + "otp:register:" + email), "0")
        drop()
        # The two failures were not counted: the first real send leaves 2 of 3.
        body = assert_json(start_register(email), 202)
        self.assertEqual(body["attempts_remaining"], 2)
        tok = remember_tokens(assert_json(
            post("/auth/verify-otp", {"email": email, "code": mail_code(email)}), 201))
        self.assertEqual(tok["user"]["email"], email)

    def test_login_code_costs_nothing_when_the_mail_is_not_queued(self):
        email, _ = register()
        psql("UPDATE users SET login_otp = true WHERE email = '%s'" % email)
        drop = refuse_mail_to(self, email)
        for _ in range(3):
            assert_problem(post("/auth/login", {"email": email, "password": PASSWORD}), 503,
                           "dependency_unavailable")
        self.assertEqual(redis_cli("EXISTS", redis_prefix() + "pending:login:" + email), "0")
        drop()
        before = harness.mail_ids()
        body = assert_json(post("/auth/login", {"email": email, "password": PASSWORD}), 202)
        self.assertEqual(body["attempts_remaining"], 2)
        code = mail_code(email, "login", after_ids=before)
        assert_json(post("/auth/verify-otp", {"email": email, "code": code, "module": "login"}),
                    200)


class CacheAfterCommitTest(unittest.TestCase):
    def test_a_read_during_the_reset_does_not_leave_a_stale_cache(self):
        email, tok = register()
        uid = tok["user"]["id"]
        fn = "slow_%s" % uuid.uuid4().hex[:8]
        # COMMIT of a change to this user's row takes 2 s (a deferred trigger), which
        # holds the reset's transaction open after its UPDATE.
        psql("CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "PERFORM pg_sleep(2); RETURN NULL; END $$;" % fn)
        psql("CREATE CONSTRAINT TRIGGER %s AFTER UPDATE ON users DEFERRABLE INITIALLY "
             "DEFERRED FOR EACH ROW WHEN (NEW.id = '%s') EXECUTE FUNCTION %s()" % (fn, uid, fn))
        self.addCleanup(lambda: psql("DROP FUNCTION IF EXISTS %s() CASCADE" % fn))
        assert_json(post("/auth/forget-password", {"email": email}), 202)
        code = mail_code(email, module="forgetpassword")
        new_pw = secret("reset-Passw0rd-" + uid[:8])
        result = {}

        def reset():
            result["r"] = post("/auth/reset-password",
                               {"email": email, "code": code, "new_password": new_pw})

        t = threading.Thread(target=reset)
        t.start()
        harness.wait_until(
            lambda: int(psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = "
                             "'PgSleep'")[0][0]) > 0, 10, 0.02, "the reset never reached COMMIT")
        # While the reset commits, the old password still signs in and /auth/me reads
        # (and caches) the row as it was.
        old = login(email)
        assert_json(call("GET", "/auth/me", headers=bearer(old["access_token"])), 200)
        t.join(30)
        assert_json(result["r"], 200)
        fresh = login(email, new_pw)
        me = assert_json(call("GET", "/auth/me", headers=bearer(fresh["access_token"])), 200)
        db = psql("SELECT to_char(updated_at AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users WHERE id = '%s'" % uid)[0][0]
        self.assertEqual(me["updated_at"], db, "/auth/me served the row from before the reset")
        # The session made with the old password during the reset did not survive it.
        assert_problem(call("GET", "/auth/me", headers=bearer(old["access_token"])), 401)


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    pass
