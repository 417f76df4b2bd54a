"""Access and refresh tokens end to end through nginx: JWT attacks are refused with 401,
refresh tokens rotate (single use, reuse kills the session, a retry within the grace
window gets the same pair), and the role is re-read at refresh.

The stack signs with HS256, so correctly-signed tokens can be forged here with
JWT_SECRET_KEY from the env file: a forged token with every claim right is accepted, and
the same token with one claim wrong is refused, which proves each check is real.
RS256-specific attacks (alg confusion with the public key) are C unit tests.
"""

import hashlib
import hmac
import json
import threading
import time
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, psql
from test_auth import (NoSecretsMixin, b64url, bearer, jwt_parts, login, post, register,
                       remember_tokens, secret)


def sign(header, payload, key):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), ("%s.%s" % (h, p)).encode(), hashlib.sha256).digest()
    return secret("%s.%s.%s" % (h, p, b64url(mac)))


def me(token):
    return call("GET", "/auth/me", headers=bearer(token))


class JwtAttackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.email, cls.tok = register()
        cls.key = harness.env_get("JWT_SECRET_KEY")
        if harness.env_get("JWT_ALGORITHM", "HS256") != "HS256" or not cls.key:
            raise unittest.SkipTest("the stack does not sign with HS256 and a known key")
        cls.header, cls.claims = jwt_parts(cls.tok["access_token"])

    def forged(self, drop=(), header=None, **changes):
        claims = dict(self.claims)
        now = int(time.time())
        claims.update(iat=now - 5, exp=now + 600, jti=uuid.uuid4().hex)
        claims.update(changes)
        for k in drop:
            claims.pop(k, None)
        return sign(header or self.header, claims, self.key)

    def test_the_forged_control_token_is_accepted(self):
        # Without this the refusals below would prove nothing.
        self.assertEqual(self.header.get("alg"), "HS256")
        self.assertEqual(self.claims.get("typ"), "access")
        self.assertEqual(assert_json(me(self.forged()), 200)["email"], self.email)

    def test_each_bad_claim_is_refused(self):
        now = int(time.time())
        cases = {
            "expired": self.forged(exp=now - 120, iat=now - 4000),
            "not yet valid (nbf)": self.forged(nbf=now + 3600),
            "issued in the future": self.forged(iat=now + 3600, exp=now + 7200),
            "wrong audience": self.forged(aud="someone-else"),
            "wrong issuer": self.forged(iss="evil"),
            "refresh typ as access": self.forged(typ="refresh"),
            "no typ": self.forged(drop=("typ",)),
            "no exp": self.forged(drop=("exp",)),
            "no sid": self.forged(drop=("sid",)),
            "unknown session": self.forged(sid=uuid.uuid4().hex),
            "other user in the session": self.forged(sub=str(uuid.uuid4())),
            "wrong key": sign(self.header, dict(self.claims), self.key + "x"),
            "HS512 with the right key": self._hs512(),
        }
        for name, token in cases.items():
            with self.subTest(name):
                assert_problem(me(token), 401)

    def _hs512(self):
        header = dict(self.header, alg="HS512")
        h = b64url(json.dumps(header).encode())
        p = b64url(json.dumps(self.claims).encode())
        mac = hmac.new(self.key.encode(), ("%s.%s" % (h, p)).encode(), hashlib.sha512).digest()
        return "%s.%s.%s" % (h, p, b64url(mac))

    def test_alg_none(self):
        claims = dict(self.claims)
        for alg in ("none", "None", "NONE"):
            with self.subTest(alg=alg):
                h = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
                p = b64url(json.dumps(claims).encode())
                for token in ("%s.%s." % (h, p), "%s.%s" % (h, p)):
                    assert_problem(me(token), 401)

    def test_tampered_payload(self):
        h, p, s = self.tok["access_token"].split(".")
        claims = dict(self.claims, role="admin")
        p2 = b64url(json.dumps(claims, separators=(",", ":")).encode())
        assert_problem(me("%s.%s.%s" % (h, p2, s)), 401)
        # One flipped signature character.
        flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
        assert_problem(me("%s.%s.%s" % (h, p, flipped)), 401)

    def test_garbage(self):
        for token in ("garbage", "a.b.c", "...", "e30.e30.", "x" * 5000,
                      self.tok["access_token"] + "x", "Bearer " + self.tok["access_token"]):
            with self.subTest(token=token[:30]):
                assert_problem(me(token), 401)

    def test_refresh_token_is_not_an_access_token_and_back(self):
        assert_problem(me(self.tok["refresh_token"]), 401)
        r = post("/auth/refresh", {"refresh_token": self.tok["access_token"]})
        assert_problem(r, 401)
        # A correctly signed refresh token for a session that does not exist.
        r = post("/auth/refresh", {"refresh_token": self.forged(typ="refresh",
                                                                sid=uuid.uuid4().hex)})
        assert_problem(r, 401, "unauthorized")


class RefreshTest(unittest.TestCase):
    def test_refresh_returns_a_new_working_pair(self):
        email, tok = register()
        r = post("/auth/refresh", {"refresh_token": tok["refresh_token"]})
        new = remember_tokens(assert_json(r, 200))
        self.assertEqual(new["token_type"], "Bearer")
        self.assertNotEqual(new["access_token"], tok["access_token"])
        self.assertNotEqual(new["refresh_token"], tok["refresh_token"])
        self.assertEqual(new["user"]["email"], email)
        self.assertEqual(jwt_parts(new["access_token"])[1]["sid"],
                         jwt_parts(tok["access_token"])[1]["sid"])
        assert_json(me(new["access_token"]), 200)
        # The header form of older clients.
        r = post("/auth/refresh", headers={"x-refresh-token": new["refresh_token"]})
        remember_tokens(assert_json(r, 200))

    def test_old_refresh_token_fails_and_kills_the_session(self):
        email, tok = register()
        t1 = remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": tok["refresh_token"]}), 200))
        t2 = remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": t1["refresh_token"]}), 200))
        assert_json(me(t2["access_token"]), 200)
        # tok's refresh token is two rotations old: theft.
        r = post("/auth/refresh", {"refresh_token": tok["refresh_token"]})
        assert_problem(r, 401, "refresh_reused")
        # The whole session is gone: its newest tokens too.
        assert_problem(me(t2["access_token"]), 401)
        assert_problem(post("/auth/refresh", {"refresh_token": t2["refresh_token"]}), 401)
        rows = psql("SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id "
                    "WHERE a.event = 'refresh_reused' AND u.email = '%s'" % email)
        self.assertEqual(rows[0][0], "1")
        # Other sessions of the user are not touched.
        assert_json(me(login(email)["access_token"]), 200)

    def test_spent_refresh_token_after_the_grace_window_is_reuse(self):
        _, tok = register()
        t1 = remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": tok["refresh_token"]}), 200))

        def replay():
            r = post("/auth/refresh", {"refresh_token": tok["refresh_token"]})
            if r.status == 200:
                # Still inside the grace window: the very same pair, never a new one.
                self.assertEqual(r.json()["refresh_token"], t1["refresh_token"])
                return None
            return r

        grace = int(harness.env_get("MEDRIN_REFRESH_GRACE_SECONDS", "5"))
        r = harness.wait_until(replay, grace + 10, 0.5,
                               "the spent refresh token kept working past the grace window")
        assert_problem(r, 401, "refresh_reused")
        assert_problem(me(t1["access_token"]), 401)
        assert_problem(post("/auth/refresh", {"refresh_token": t1["refresh_token"]}), 401)

    def test_same_refresh_twice_at_once_gets_the_same_pair(self):
        _, tok = register()
        n = 2
        barrier = threading.Barrier(n)
        out = []
        lock = threading.Lock()

        def go():
            barrier.wait(30)
            r = post("/auth/refresh", {"refresh_token": tok["refresh_token"]})
            with lock:
                out.append(r)

        threads = [threading.Thread(target=go) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        bodies = [remember_tokens(assert_json(r, 200)) for r in out]
        self.assertEqual(bodies[0]["access_token"], bodies[1]["access_token"])
        self.assertEqual(bodies[0]["refresh_token"], bodies[1]["refresh_token"])
        # The pair works, and rotating it is still single use.
        assert_json(me(bodies[0]["access_token"]), 200)
        remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": bodies[0]["refresh_token"]}), 200))

    def test_role_is_re_read_at_refresh(self):
        email, tok = register()
        self.assertEqual(jwt_parts(tok["access_token"])[1]["role"], "user")
        psql("UPDATE users SET role = 'admin' WHERE email = '%s'" % email)
        t1 = remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": tok["refresh_token"]}), 200))
        self.assertEqual(jwt_parts(t1["access_token"])[1]["role"], "admin")
        self.assertEqual(t1["user"]["role"], "admin")
        psql("UPDATE users SET role = 'user' WHERE email = '%s'" % email)
        t2 = remember_tokens(assert_json(
            post("/auth/refresh", {"refresh_token": t1["refresh_token"]}), 200))
        self.assertEqual(jwt_parts(t2["access_token"])[1]["role"], "user")

    def test_garbage_refresh_tokens(self):
        for token in ("garbage", "a.b.c", "x" * 3000):
            with self.subTest(token=token[:20]):
                assert_problem(post("/auth/refresh", {"refresh_token": token}), 401)
                assert_problem(post("/auth/refresh", headers={"x-refresh-token": token}), 401)


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()
