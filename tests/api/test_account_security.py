"""Account security (issue 7): each class proves one finding's outcome against the real
stack; each failed on the code before the fix (the reason is in its docstring).

Requests from other client addresses: nginx listens on 127.0.0.1 and sees the source
address of the connection as $remote_addr, so from_address("127.0.0.N") makes the client
look like another host (Linux routes all of 127.0.0.0/8 to lo)."""
import contextlib
import http.client
import statistics
import threading
import time
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, psql
from test_auth import (NoSecretsMixin, PASSWORD, bearer, fresh_email, jwt_parts, login,
                       mail_code, mails_to, post, redis_cli, redis_prefix, register,
                       remember_tokens, secret, start_register, users_with_email)


@contextlib.contextmanager
def from_address(ip):
    """Every harness.call inside the block connects from source address ip."""
    orig = harness._connection

    def conn(scheme, host, port, timeout):
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout,
                                               context=harness.ssl_context(),
                                               source_address=(ip, 0))
        return http.client.HTTPConnection(host, port, timeout=timeout, source_address=(ip, 0))

    harness._connection = conn
    try:
        yield
    finally:
        harness._connection = orig


_net = [0]


def fresh_ip():
    """A client address no other test uses (127.0.N.M, N from 50)."""
    _net[0] += 1
    n = _net[0]
    return "127.%d.%d.%d" % (50 + (n // 250) % 150, uuid.uuid4().int % 250 + 1, n % 250 + 1)


def key(*parts):
    return redis_prefix() + ":".join(parts)


def login_otp_on(email):
    psql("UPDATE users SET login_otp = true WHERE email = '%s'" % email)


class F1SignUpTakeoverTest(unittest.TestCase):
    """Only the client that created a registration can complete it. Before: register
    answered no registration_id and verify-otp took the newest code alone, so a stranger
    who re-registered the address (or pressed "resend") had the owner complete the
    stranger's sign-up, and then logged in with the stranger's password."""

    def test_stranger_cannot_take_over_a_sign_up(self):
        email = fresh_email("victim")
        owner = assert_json(start_register(email, "owner password 1"), 202)
        self.assertRegex(owner["registration_id"], r"^[0-9a-f]{32}$")
        with from_address(fresh_ip()):
            for _ in range(1):
                st = assert_json(call("POST", "/auth/register",
                                      {"email": email, "password": "stranger password 2"}), 202)
                self.assertRegex(st["registration_id"], r"^[0-9a-f]{32}$")
                self.assertNotEqual(st["registration_id"], owner["registration_id"])
            # the resend button: the owner is mailed a new code
            before = harness.mail_ids()
            assert_json(call("POST", "/auth/resend-otp", {"email": email, "module": "register"}),
                        202)
        newest = mail_code(email, after_ids=before)
        # The code without the owner's id (a client that kept none) is a wrong code, and
        # counts as one; the stranger's id is wrong too.
        p = assert_problem(post("/auth/verify-otp", {"email": email, "code": newest}, proof=False),
                           400, "otp_invalid")
        self.assertEqual(p["attempts_remaining"], 4)
        assert_problem(post("/auth/verify-otp", {"email": email, "code": newest,
                                                 "registration_id": st["registration_id"]}),
                       400, "otp_invalid")
        self.assertEqual(users_with_email(email), 0)
        body = assert_json(post("/auth/verify-otp", {"email": email, "code": newest,
                                                     "registration_id": owner["registration_id"]}),
                           201)
        remember_tokens(body)
        login(email, "owner password 1")
        assert_problem(post("/auth/login", {"email": email, "password": "stranger password 2"}),
                       401, "invalid_credentials")

    def test_older_client_proves_it_with_the_password(self):
        email = fresh_email("older")
        assert_json(start_register(email, "older client pw 1"), 202)
        code = mail_code(email)
        assert_problem(post("/auth/verify-otp", {"email": email, "code": code,
                                                 "password": "not the one 22"}), 400, "otp_invalid")
        body = assert_json(post("/auth/verify-otp", {"email": email, "code": code,
                                                     "password": "older client pw 1"}), 201)
        self.assertEqual(remember_tokens(body)["user"]["email"], email)

    def test_taken_address_answers_an_id_of_the_same_shape(self):
        email, _ = register()
        r = assert_json(start_register(email, "another password 9"), 202)
        self.assertRegex(r["registration_id"], r"^[0-9a-f]{32}$")
        self.assertEqual(set(r), {"message", "attempts_remaining", "registration_id"})

    def test_bad_proof_fields_are_validated(self):
        email = fresh_email("badproof")
        for bad in ({"registration_id": 5}, {"registration_id": ""}, {"password": ["x"]},
                    {"registration_id": "x" * 65}, {"challenge_id": True}):
            body = {"email": email, "code": "123456"}
            body.update(bad)
            assert_problem(post("/auth/verify-otp", body), 422)


class F2LockoutByStrangersTest(unittest.TestCase):
    """Without the password nothing can stop the owner's login. Before: four resend-otp
    (module login) requests with nothing pending blocked the owner's login OTP for 24 h,
    and wrong codes renewed a 30-minute block at will."""

    def test_no_request_without_the_password_blocks_the_login(self):
        email, _ = register()
        login_otp_on(email)
        with from_address(fresh_ip()):
            for _ in range(6):
                r = call("POST", "/auth/resend-otp", {"email": email, "module": "login"})
                self.assertIn(r.status, (202, 429))
            for _ in range(7):
                r = call("POST", "/auth/verify-otp", {"email": email, "code": "000000",
                                                      "module": "login"})
                self.assertIn(r.status, (400, 429))
            for _ in range(5):
                call("POST", "/auth/forget-password", {"email": email})
        # nothing was counted for the login module
        self.assertEqual(redis_cli("EXISTS", key("otp_limit", "login", email)), "0")
        self.assertEqual(redis_cli("EXISTS", key("blocked_user", "login", email)), "0")
        self.assertEqual(redis_cli("EXISTS", key("wrong_otp_attempts", email, "login")), "0")
        self.assertEqual(len(mails_to(email, "sign-in code")), 0)
        before = harness.mail_ids()
        ch = assert_json(post("/auth/login", {"email": email, "password": PASSWORD}), 202)
        self.assertRegex(ch["challenge_id"], r"^[0-9a-f]{32}$")
        self.assertEqual(ch["attempts_remaining"], 2)
        code = mail_code(email, "login", after_ids=before)
        # a wrong challenge id makes the right code a wrong one
        assert_problem(post("/auth/verify-otp", {"email": email, "code": code, "module": "login",
                                                 "challenge_id": "0" * 32}), 400, "otp_invalid")
        body = assert_json(post("/auth/verify-otp", {"email": email, "code": code, "module": "login",
                                                     "challenge_id": ch["challenge_id"]}), 200)
        remember_tokens(body)

    def test_forget_password_abuse_delays_resets_only(self):
        email, _ = register()
        with from_address(fresh_ip()):
            for _ in range(5):
                call("POST", "/auth/forget-password", {"email": email})
        assert_problem(post("/auth/forget-password", {"email": email}), 429, "otp_blocked")
        login(email)


class F3LoginThrottleTest(unittest.TestCase):
    """Per-account and per-account-and-address failure counters with a progressive delay.
    Before: 54 wrong passwords and then the right one, with no delay at all."""

    def test_wrong_passwords_then_a_delay_even_for_the_right_one(self):
        email, _ = register()
        with from_address(fresh_ip()):
            for _ in range(5):
                assert_problem(call("POST", "/auth/login", {"email": email, "password": "wrong pw 1"}),
                               401, "invalid_credentials")
            r = call("POST", "/auth/login", {"email": email, "password": PASSWORD})
            p = assert_problem(r, 429, "login_throttled")
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            self.assertGreaterEqual(p["retry_after"] if "retry_after" in p else 1, 1)

    def test_unknown_address_is_throttled_the_same(self):
        email = fresh_email("nobody")
        with from_address(fresh_ip()):
            for _ in range(5):
                assert_problem(call("POST", "/auth/login", {"email": email, "password": "wrong pw 1"}),
                               401, "invalid_credentials")
            assert_problem(call("POST", "/auth/login", {"email": email, "password": "wrong pw 1"}),
                           429, "login_throttled")

    def test_strangers_cannot_lock_the_owners_own_address(self):
        email, _ = register()
        home = fresh_ip()
        with from_address(home):
            login(email)  # the owner's address is now a known one
        for i in range(25):  # 25 strangers' addresses, one try each
            with from_address(fresh_ip()):
                r = call("POST", "/auth/login", {"email": email, "password": "guess 123"})
                # from the 20th failure on, new addresses wait
                assert_problem(r, 401 if i < 20 else 429)
        with from_address(fresh_ip()):  # a new address waits (account-wide delay)
            assert_problem(call("POST", "/auth/login", {"email": email, "password": PASSWORD}),
                           429, "login_throttled")
        with from_address(home):  # the owner's does not, and the success resets it all
            login(email)
        with from_address(fresh_ip()):
            login(email)
        self.assertEqual(redis_cli("EXISTS", key("login_fail", email)), "0")


class F4MetricsTest(unittest.TestCase):
    """Every path that reaches the metrics handler is internal. Before:
    /api/v1/metrics/ answered 200 to anyone (the exact location missed it and the router
    trims one trailing slash)."""

    def test_every_spelling_is_internal(self):
        with from_address(fresh_ip()):
            for path in ("/api/v1/metrics", "/api/v1/metrics/", "/api/v1/%6Detrics",
                         "/api/v1/%6detrics/", "/api/v1/metrics%2F", "//api/v1/metrics/",
                         "/api/v1/METRICS/"):
                with self.subTest(path=path):
                    r = call("GET", path)
                    self.assertIn(r.status, (403, 404), path)
                    self.assertNotIn(b"medrin_", r.body)
        # from the allowed address: only the exact path is served
        self.assertEqual(call("GET", "/api/v1/metrics").status, 200)
        self.assertEqual(call("GET", "/api/v1/metrics/").status, 404)


class F5TimingTest(unittest.TestCase):
    """forget-password does the same work for a known and an unknown address. Before:
    no mail was queued for an unknown one (1.95 ms vs 1.55 ms medians). A statistical
    comparison of medians over many interleaved requests, with a wide margin: never an
    absolute time."""

    N = 41

    def test_known_and_unknown_medians_agree(self):
        email, _ = register()
        tag = uuid.uuid4().hex[:8]
        psql("INSERT INTO users (email, password_hash, email_verified) "
             "SELECT 'auth-t%s-' || g || '@example.com', u.password_hash, true "
             "FROM users u, generate_series(1, %d) g WHERE u.email = '%s'"
             % (tag, self.N, email))
        known = ["auth-t%s-%d@example.com" % (tag, i) for i in range(1, self.N + 1)]
        unknown = ["auth-u%s-%d@example.com" % (tag, i) for i in range(1, self.N + 1)]
        tk, tu = [], []
        for k, u in zip(known, unknown):
            for addr, out in ((k, tk), (u, tu)):
                t0 = time.perf_counter()
                r = post("/auth/forget-password", {"email": addr})
                out.append(time.perf_counter() - t0)
                self.assertEqual(r.status, 202)
        mk, mu = statistics.median(tk), statistics.median(tu)
        ratio = mu / mk
        # A wide margin (a shared machine moves medians by a quarter): what this guards
        # against is a path that does different work, e.g. a hash or a mail on one side
        # only, which moves the ratio far outside it.
        self.assertGreater(ratio, 0.6, "unknown %.2f ms vs known %.2f ms" % (mu * 1e3, mk * 1e3))
        self.assertLess(ratio, 1 / 0.6, "unknown %.2f ms vs known %.2f ms" % (mu * 1e3, mk * 1e3))
        # and the unknown addresses' stand-ins are dropped, never delivered
        harness.wait_until(lambda: int(psql(
            "SELECT count(*) FROM tasks WHERE kind = 'mail' AND payload->>'to' LIKE "
            "'auth-u%s-%%' AND status = 'succeeded'" % tag)[0][0]) == self.N, 30, 0.2)
        self.assertEqual(int(psql("SELECT count(*) FROM tasks WHERE payload->>'to' LIKE "
                                  "'auth-u%s-%%' AND NOT (result->>'dropped')::boolean"
                                  % tag)[0][0]), 0)
        self.assertEqual([m for m in harness.mail_messages()
                          if any(("u%s-" % tag) in t for t in (m.get("to") or []))], [])


class F6SessionLifetimeTest(unittest.TestCase):
    """A hard cap from created_at (MEDRIN_SESSION_MAX_DAYS, 90 days). Before: every
    rotation extended the session by 30 days, so it lived forever."""

    def _session(self):
        email, tok = register()
        sid = jwt_parts(tok["access_token"])[1]["sid"]
        return email, tok, sid

    def test_a_session_past_the_cap_cannot_be_refreshed(self):
        _, tok, sid = self._session()
        redis_cli("HSET", key("sess", sid), "created_at", str(int(time.time()) - 91 * 86400))
        assert_problem(post("/auth/refresh", {"refresh_token": tok["refresh_token"]}), 401)
        self.assertEqual(redis_cli("EXISTS", key("sess", sid)), "0")

    def test_a_rotation_never_extends_past_the_cap(self):
        _, tok, sid = self._session()
        redis_cli("HSET", key("sess", sid), "created_at",
                  str(int(time.time()) - 90 * 86400 + 300))
        body = remember_tokens(assert_json(post("/auth/refresh",
                                                {"refresh_token": tok["refresh_token"]}), 200))
        ttl = int(redis_cli("TTL", key("sess", sid)))
        self.assertGreater(ttl, 0)
        self.assertLessEqual(ttl, 300)
        assert_json(call("GET", "/auth/me", headers=bearer(body["access_token"])), 200)


class F7NormalisationTest(unittest.TestCase):
    """One normalisation for code and database; invisible-only passwords refused; a cap
    on OTP mail per client address. Before: a leading no-break space was accepted, a
    non-ASCII local part registered and then failed on PostgreSQL's lower() CHECK, and
    every variant of an address had its own budget."""

    def test_invisible_and_non_ascii_addresses_are_refused(self):
        for bad in ("\u00a0" + fresh_email("nbsp"), "\u200b" + fresh_email("zw"),
                    "J\u00d6RG-" + fresh_email("x"), fresh_email("a").replace("@", "\u2060@"),
                    fresh_email("idn").replace("example.com", "b\u00fccher.de")):
            with self.subTest(email=ascii(bad)):
                p = assert_problem(start_register(bad, "a fine password 1"), 422, "validation_failed")
                self.assertEqual(p["errors"][0]["field"], "email")
        self.assertEqual(int(psql("SELECT count(*) FROM users WHERE email !~ '^[!-~]+$'")[0][0]), 0)

    def test_database_says_the_same(self):
        self.assertEqual(psql("SELECT medrin_email_normalise(' A.B@Example.COM ')")[0][0],
                         "a.b@example.com")
        self.assertEqual(psql("SELECT medrin_email_normalise(E'\\u00e4@example.com') IS NULL")[0][0],
                         "t")
        with self.assertRaises(Exception):
            psql("INSERT INTO users (email, password_hash) VALUES (E'\\u00e4b@example.com', 'x')")

    def test_passwords_of_invisible_characters_are_refused(self):
        for pw in ("\u200b" * 10, "\ufeff\u2060\u200c\u200d\u3164\u00ad  ", "\u00a0" * 9):
            with self.subTest(pw=ascii(pw)):
                p = assert_problem(start_register(fresh_email("inv"), pw), 422, "validation_failed")
                self.assertEqual(p["errors"][0]["field"], "password")

    def test_one_client_address_cannot_bomb_through_variants(self):
        pool = 1
        base = harness.pool_urls()[pool - 1]
        old = harness.reload_pool(pool, "MEDRIN_OTP_MAIL_PER_ADDRESS=3\n")
        try:
            ip = fresh_ip()
            box = uuid.uuid4().hex[:10]
            with from_address(ip):
                for i in range(3):
                    assert_json(call("POST", "/auth/register",
                                     {"email": "bomb-%s+%d@example.com" % (box, i),
                                      "password": "a fine password 1"}, base=base), 202)
                r = call("POST", "/auth/forget-password", {"email": "bomb-%s+9@example.com" % box},
                         base=base)
                assert_problem(r, 429, "otp_rate_limited")
                self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            # another client address is not affected
            with from_address(fresh_ip()):
                assert_json(call("POST", "/auth/forget-password",
                                 {"email": "bomb-%s+9@example.com" % box}, base=base), 202)
        finally:
            harness.reload_pool(pool, "MEDRIN_OTP_MAIL_PER_ADDRESS=100000\n")
            harness.write_pool_env(pool, old)


class F8MailAtRestTest(unittest.TestCase):
    """Secret-bearing mail payloads are sealed (AES-256-GCM, key from SECRET_KEY) and
    opened only by medrin-worker. Before: the code sat in clear in tasks.payload."""

    def test_the_code_is_never_in_the_tasks_table(self):
        email, _ = register()
        harness.service("stop", "worker")  # so the queued mail can be read at rest
        try:
            assert_json(post("/auth/forget-password", {"email": email}), 202)
            rows = psql("SELECT payload::text FROM tasks WHERE kind = 'mail' AND "
                        "payload->>'to' = '%s' AND status = 'queued'" % email)
        finally:
            harness.service("start", "worker")
        self.assertEqual(len(rows), 1)
        payload = rows[0][0]
        code = mail_code(email, "forgetpassword")
        self.assertNotIn(code, payload)
        self.assertNotIn('"body"', payload)
        self.assertIn('"enc": "v1.', payload)
        for (text,) in psql("SELECT payload::text FROM tasks WHERE payload->>'to' = '%s'" % email):
            self.assertNotIn(code, text)

    def test_a_payload_that_does_not_open_is_not_sent(self):
        email = fresh_email("tamper")
        for enc in ("v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v2.x", "garbage"):
            tid = psql("INSERT INTO tasks (kind, payload) VALUES ('mail', jsonb_build_object("
                       "'to', '%s', 'subject', 'x', 'enc', '%s')) RETURNING id"
                       % (email, enc))[0][0]
            harness.wait_until(lambda: psql("SELECT status FROM tasks WHERE id = '%s'" % tid)[0][0]
                               == "failed", 30, 0.2)
        self.assertEqual(mails_to(email), [])


class F9ResetRaceTest(unittest.TestCase):
    """No session created with the old password survives a reset. Before: a login that
    read the old hash before the reset's COMMIT and created its session after the
    revocation kept it. Logins with the old password are fired all through the reset;
    afterwards every token they got must be dead."""

    def test_no_old_password_session_survives(self):
        survivors = []
        for trial in range(4):
            email, _ = register()
            assert_json(post("/auth/forget-password", {"email": email}), 202)
            code = mail_code(email, "forgetpassword")
            tokens, lock = [], threading.Lock()

            def old_login(delay):
                time.sleep(delay)
                r = post("/auth/login", {"email": email, "password": PASSWORD})
                if r.status == 200:
                    with lock:
                        tokens.append(remember_tokens(r.json())["access_token"])

            threads = [threading.Thread(target=old_login, args=(i * 0.04,)) for i in range(6)]
            for t in threads:
                t.start()
            time.sleep(0.05)
            # the logins hold hashing slots: a busy answer costs no code, so try again
            deadline = time.time() + 30
            while True:
                r = post("/auth/reset-password", {"email": email, "code": code,
                                                  "new_password": "brand new pw 77"})
                if r.status != 503 or time.time() > deadline:
                    break
                time.sleep(0.02)
            assert_json(r, 200)
            for t in threads:
                t.join()
            for tok in tokens:
                if call("GET", "/auth/me", headers=bearer(tok)).status != 401:
                    survivors.append((trial, tok[:12]))
            # The old-password logins that came after the reset are failed sign-ins: five
            # of them make this address wait (F3). The new password is tried from another.
            with from_address(fresh_ip()):
                login(email, "brand new pw 77")
        self.assertEqual(survivors, [])


class F11CommonPasswordTest(unittest.TestCase):
    """New passwords on the common-password list (Debian's john-data, turned into a table
    at build time) are refused with 422 password_too_common, case-insensitively. Before:
    "Password1" was a fine new password."""

    def test_register_and_reset_refuse_common_passwords(self):
        for pw in ("password1", "PassWord1", "QWERTYUIOP", "iloveyou"):
            with self.subTest(pw=pw):
                email = fresh_email("common")
                p = assert_problem(start_register(email, pw), 422, "password_too_common")
                self.assertEqual(p["errors"][0]["field"], "password")
                self.assertEqual(users_with_email(email), 0)
        email, _ = register()
        assert_json(post("/auth/forget-password", {"email": email}), 202)
        code = mail_code(email, "forgetpassword")
        p = assert_problem(post("/auth/reset-password", {"email": email, "code": code,
                                                         "new_password": "Sunshine"}),
                           422, "password_too_common")
        self.assertEqual(p["errors"][0]["field"], "new_password")
        login(email)  # unchanged, and the code was not spent
        assert_json(post("/auth/reset-password", {"email": email, "code": code,
                                                  "new_password": "a rare one 4711"}), 200)


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    """Runs last: no password, code or token of this module is in any log."""


if __name__ == "__main__":
    unittest.main()
