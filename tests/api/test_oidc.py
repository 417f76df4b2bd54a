"""Sign-in with OpenID Connect against real providers on loopback (tests/oidc/provider.js).

"real" is npm's oidc-provider: the happy path, linking, unverified emails and key rotation
are driven through its own login and consent pages. "fake" is our own tiny provider that
returns crafted ID tokens for every check the relying party must make. "down" points at a
closed port. Both pools are reloaded with one worker each and the providers' settings, so
which worker (and which per-worker key cache) serves a step is known; the class puts the
pools' old settings back at the end.
"""
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import socket
import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import harness
from harness import assert_json, assert_problem, call
from test_auth import redis_cli

ROOT = harness.ROOT
CLIENT_ID = "medrin-test"
CLIENT_SECRET = "medrin-test-client-secret-%s" % uuid.uuid4().hex
RETURN_TO = "https://app.example.test/signed-in"
RETURN_TO_Q = "https://app.example.test/cb?from=medrin"
PASSWORD = "correct horse battery staple"


def public_url():
    return (harness.env_get("MEDRIN_PUBLIC_URL") or harness.base_url()).rstrip("/")


def redirect_uri(name):
    return "%s/api/v1/auth/oidc/%s/callback" % (public_url(), name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_email(tag):
    return "oidc-%s-%s@example.com" % (tag, uuid.uuid4().hex[:10])


def bearer(token):
    return {"Authorization": "Bearer " + token}


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class FormParser(html.parser.HTMLParser):
    """The first form of a page: its action and input values."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and self.action is not None and not self.done and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.action is not None:
            self.done = True


class Browser:
    """A user agent for the provider's pages: cookies, no automatic redirects."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            resp = self.opener.open(urllib.request.Request(url, data=data), timeout=20)
        except urllib.error.HTTPError as e:
            resp = e
        body = resp.read().decode("utf-8", "replace")
        return resp.status, resp.headers, body

    def sign_in(self, auth_url, login, limit=12):
        """Follows the provider from the authorization URL through its login and consent
        forms until it redirects to Medrin; returns that callback URL."""
        url, form = auth_url, None
        for _ in range(limit):
            status, headers, body = self.open(url, form)
            form = None
            if status in (302, 303):
                url = urllib.parse.urljoin(url, headers["Location"])
                if url.startswith(public_url()):
                    return url
                continue
            if status != 200:
                raise AssertionError("provider answered %d: %s" % (status, body[:300]))
            p = FormParser()
            p.feed(body)
            if p.action is None:
                raise AssertionError("no form on the provider's page: %s" % body[:300])
            form = dict(p.fields)
            if form.get("prompt") == "login":
                form["login"], form["password"] = login, "anything"
            url = urllib.parse.urljoin(url, p.action)
        raise AssertionError("the provider never redirected back to Medrin")


def psql(sql):
    return harness.psql(sql)


class OidcTest(unittest.TestCase):
    proc = None

    @classmethod
    def setUpClass(cls):
        script = os.path.join(ROOT, "tests", "oidc", "provider.js")
        if not os.path.isdir(os.path.join(ROOT, "tests", "oidc", "node_modules", "oidc-provider")):
            raise unittest.SkipTest("tests/oidc/node_modules missing: run script/bootstrap")
        cls.proc = subprocess.Popen(
            ["node", script, CLIENT_ID, CLIENT_SECRET, redirect_uri("real"),
             redirect_uri("fake")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=os.path.join(ROOT, "tests", "oidc"))
        line = cls.proc.stdout.readline()
        if not line:
            cls.proc.kill()
            raise AssertionError("tests/oidc/provider.js did not start")
        ports = json.loads(line)
        cls.real = "http://127.0.0.1:%d" % ports["real"]
        cls.fake = "http://127.0.0.1:%d" % ports["fake"]
        cls.down = "http://127.0.0.1:%d" % free_port()
        settings = [
            "MEDRIN_WORKERS=1",
            "MEDRIN_OIDC_PROVIDERS=real,Fake,down",
            "MEDRIN_OIDC_RETURN_URLS=%s,%s" % (RETURN_TO, RETURN_TO_Q),
            "MEDRIN_OIDC_TIMEOUT_MS=2000",
        ]
        for name, issuer in (("REAL", cls.real), ("FAKE", cls.fake), ("DOWN", cls.down)):
            settings += ["MEDRIN_OIDC_%s_ISSUER=%s" % (name, issuer),
                         "MEDRIN_OIDC_%s_CLIENT_ID=%s" % (name, CLIENT_ID),
                         "MEDRIN_OIDC_%s_CLIENT_SECRET=%s" % (name, CLIENT_SECRET)]
        cls.old_env = {}
        for pool in range(1, harness.pool_count() + 1):
            cls.old_env[pool] = harness.reload_pool(pool, "\n".join(settings) + "\n")

    @classmethod
    def tearDownClass(cls):
        workers = harness.env_get("MEDRIN_WORKERS") or "0"
        for pool, old in getattr(cls, "old_env", {}).items():
            harness.reload_pool(pool, "MEDRIN_WORKERS=%s\nMEDRIN_OIDC_PROVIDERS=\n"
                                "MEDRIN_OIDC_RETURN_URLS=\n" % workers)
            harness.write_pool_env(pool, old)
        if cls.proc is not None:
            cls.proc.stdin.close()
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()

    # ------------------------------------------------------------------ helpers

    def pool(self, n=1):
        return harness.pool_urls()[(n - 1) % harness.pool_count()]

    def start(self, provider="real", return_to=RETURN_TO, pool=1):
        q = urllib.parse.urlencode({"return_to": return_to})
        r = call("GET", "/auth/oidc/%s/start?%s" % (provider, q), base=self.pool(pool))
        self.assertEqual(r.status, 302, r.text)
        return r.headers["Location"]

    def callback(self, url, pool=1):
        u = urllib.parse.urlsplit(url)
        return call("GET", u.path + "?" + u.query, base=self.pool(pool))

    def real_callback_url(self, login, pool=1, return_to=RETURN_TO):
        return Browser().sign_in(self.start("real", return_to, pool), login)

    def finish(self, callback_url, pool=1):
        """callback -> 302 to return_to with code -> exchange; returns the token body."""
        r = self.callback(callback_url, pool)
        self.assertEqual(r.status, 302, r.text)
        loc = r.headers["Location"]
        self.assertTrue(loc.startswith(RETURN_TO + "?code="), loc)
        code = query_of(loc)["code"]
        r = call("POST", "/auth/oidc/exchange", {"code": code}, base=self.pool(pool))
        return assert_json(r, 200)

    def real_sign_in(self, login, pool=1):
        return self.finish(self.real_callback_url(login, pool), pool)

    def fake_plan(self, auth_url, mode="ok", email=None, verified=True, sub=None):
        q = query_of(auth_url)
        plan = {"mode": mode, "nonce": q["nonce"], "code_challenge": q["code_challenge"],
                "sub": sub or uuid.uuid4().hex, "email": email or fresh_email("fake"),
                "email_verified": verified}
        req = urllib.request.Request(self.fake + "/_control/next",
                                     data=json.dumps(plan).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        return q["state"]

    def fake_callback(self, mode, **kw):
        auth_url = self.start("fake")
        state = self.fake_plan(auth_url, mode, **kw)
        return call("GET", "/auth/oidc/fake/callback?" + urllib.parse.urlencode(
            {"state": state, "code": "any-code"}), base=self.pool(1))

    def real_stats(self):
        with urllib.request.urlopen(self.real + "/_control/stats", timeout=10) as f:
            return json.loads(f.read())

    def register(self, email):
        """A password account made through the API (register + emailed code)."""
        r = call("POST", "/auth/register", {"email": email, "password": PASSWORD})
        reg = assert_json(r, 202)["registration_id"]
        msg = harness.wait_for_mail(email, subject_contains="verification")
        r = call("POST", "/auth/verify-otp", {"email": email, "code": harness.extract_code(msg),
                                              "registration_id": reg})
        return assert_json(r, 201)["user"]

    # ------------------------------------------------------------------ the happy path

    def test_full_flow_through_the_real_provider(self):
        email = fresh_email("new")
        callback_url = self.real_callback_url("v:" + email)
        q = query_of(callback_url)
        self.assertIn("code", q)
        body = self.finish(callback_url)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["user"]["email"], email)
        self.assertTrue(body["user"]["email_verified"])
        me = assert_json(call("GET", "/auth/me", headers=bearer(body["access_token"])), 200)
        self.assertEqual(me["id"], body["user"]["id"])
        # the identity is stored; the account has no password (forget/reset can set one)
        rows = psql("SELECT provider, subject, email FROM user_identities WHERE user_id = '%s'"
                    % me["id"])
        self.assertEqual(rows, [["real", "v:" + email, email]])
        self.assertEqual(psql("SELECT password_hash = '' FROM users WHERE id = '%s'"
                              % me["id"]), [["t"]])
        r = call("POST", "/auth/login", {"email": email, "password": "any password at all"})
        assert_problem(r, 401, "invalid_credentials")
        # a second sign-in finds the same account by (provider, sub)
        again = self.real_sign_in("v:" + email, pool=2)
        self.assertEqual(again["user"]["id"], me["id"])
        self.assertEqual(psql("SELECT count(*) FROM users WHERE email = '%s'" % email), [["1"]])

    def test_start_redirects_with_pkce_state_and_nonce(self):
        loc = self.start("real", RETURN_TO_Q)
        self.assertTrue(loc.startswith(self.real + "/auth?"), loc)
        q = query_of(loc)
        self.assertEqual(q["response_type"], "code")
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(q["redirect_uri"], redirect_uri("real"))
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertEqual(len(q["code_challenge"]), 43)
        self.assertIn("openid", q["scope"].split())
        self.assertGreaterEqual(len(q["state"]), 43)
        self.assertGreaterEqual(len(q["nonce"]), 43)
        self.assertNotEqual(q["state"], q["nonce"])
        # the state is kept under its hash, never in clear, with a short lifetime
        prefix = harness.env_get("MEDRIN_REDIS_PREFIX", "medrin:")
        key = prefix + "oidc:state:" + hashlib.sha256(q["state"].encode()).hexdigest()
        self.assertEqual(redis_cli("EXISTS", key), "1")
        self.assertTrue(0 < int(redis_cli("TTL", key)) <= 600)
        keys = redis_cli("--scan", "--pattern", prefix + "oidc:*")
        self.assertNotIn(q["state"], keys)
        # nonce and PKCE verifier are derived from the state with SECRET_KEY, not stored
        record = redis_cli("GET", key)
        self.assertNotIn(q["nonce"], record)
        self.assertNotIn("verifier", record)
        # the return URL keeps its own query; the exchange code is appended
        callback_url = Browser().sign_in(loc, "v:" + fresh_email("q"))
        r = self.callback(callback_url)
        self.assertEqual(r.status, 302, r.text)
        self.assertTrue(r.headers["Location"].startswith(RETURN_TO_Q + "&code="))

    def test_client_secret_post_when_discovery_allows_only_that(self):
        # The fake provider lists only client_secret_post and checks PKCE (S256).
        email = fresh_email("post")
        auth_url = self.start("fake")
        self.assertTrue(auth_url.startswith(self.fake + "/auth?"))
        state = self.fake_plan(auth_url, "ok", email=email)
        r = call("GET", "/auth/oidc/fake/callback?" + urllib.parse.urlencode(
            {"state": state, "code": "c1"}), base=self.pool(1))
        self.assertEqual(r.status, 302, r.text)
        with urllib.request.urlopen(self.fake + "/_control/last", timeout=10) as f:
            last = json.loads(f.read())
        self.assertEqual(last["client_id"], CLIENT_ID)
        self.assertEqual(last["client_secret"], CLIENT_SECRET)
        self.assertIsNone(last["authorization"])
        self.assertEqual(last["redirect_uri"], redirect_uri("fake"))
        code = query_of(r.headers["Location"])["code"]
        body = assert_json(call("POST", "/auth/oidc/exchange", {"code": code}), 200)
        self.assertEqual(body["user"]["email"], email)
        # the provider name in MEDRIN_OIDC_PROVIDERS is case-insensitive ("Fake")
        self.assertEqual(psql("SELECT provider FROM user_identities WHERE user_id = '%s'"
                              % body["user"]["id"]), [["fake"]])

    # ------------------------------------------------------------------ state and codes

    def test_wrong_state_is_refused(self):
        callback_url = self.real_callback_url("v:" + fresh_email("ws"))
        q = query_of(callback_url)
        q["state"] = q["state"][:-4] + "AAAA"
        r = call("GET", "/auth/oidc/real/callback?" + urllib.parse.urlencode(q))
        assert_problem(r, 400, "oidc_state_invalid")
        r = call("GET", "/auth/oidc/real/callback?code=x")
        assert_problem(r, 400, "oidc_state_invalid")

    def test_reused_state_is_refused(self):
        email = fresh_email("rs")
        callback_url = self.real_callback_url("v:" + email)
        self.finish(callback_url)
        r = self.callback(callback_url, pool=2)
        assert_problem(r, 400, "oidc_state_invalid")

    def test_state_of_another_provider_is_refused(self):
        auth_url = self.start("fake")
        state = self.fake_plan(auth_url, "ok")
        r = call("GET", "/auth/oidc/real/callback?" + urllib.parse.urlencode(
            {"state": state, "code": "x"}))
        assert_problem(r, 400, "oidc_state_invalid")

    def test_provider_error_is_refused_and_spends_the_state(self):
        q = query_of(self.start("real"))
        r = call("GET", "/auth/oidc/real/callback?" + urllib.parse.urlencode(
            {"state": q["state"], "error": "access_denied"}))
        assert_problem(r, 400, "oidc_denied")
        r = call("GET", "/auth/oidc/real/callback?" + urllib.parse.urlencode(
            {"state": q["state"], "code": "x"}))
        assert_problem(r, 400, "oidc_state_invalid")

    def test_reused_exchange_code_is_refused(self):
        r = self.callback(self.real_callback_url("v:" + fresh_email("rx")))
        self.assertEqual(r.status, 302, r.text)
        code = query_of(r.headers["Location"])["code"]
        assert_json(call("POST", "/auth/oidc/exchange", {"code": code}), 200)
        r = call("POST", "/auth/oidc/exchange", {"code": code}, base=self.pool(2))
        assert_problem(r, 400, "exchange_code_invalid")
        assert_problem(call("POST", "/auth/oidc/exchange", {"code": "nope"}), 400,
                       "exchange_code_invalid")

    def test_exchange_validates_its_body(self):
        assert_problem(call("POST", "/auth/oidc/exchange", {}), 422, "validation_failed")
        assert_problem(call("POST", "/auth/oidc/exchange", {"code": 7}), 422)
        assert_problem(call("POST", "/auth/oidc/exchange", {"code": "a", "x": 1}), 422,
                       "unknown_field")
        assert_problem(call("POST", "/auth/oidc/exchange", {"code": "a" * 500}), 422)
        r = call("POST", "/api/v1/auth/oidc/exchange", raw=b"{",
                 headers={"Content-Type": "application/json"})
        assert_problem(r, 400)

    def test_provider_code_is_bound_to_the_pkce_verifier(self):
        # The real provider's code, redeemed with another flow's state (and so another
        # verifier), is refused by the provider: a stolen code is useless.
        callback_url = self.real_callback_url("v:" + fresh_email("pk"))
        other = query_of(self.start("real"))
        q = query_of(callback_url)
        r = call("GET", "/auth/oidc/real/callback?" + urllib.parse.urlencode(
            {"state": other["state"], "code": q["code"]}))
        assert_problem(r, 400, "oidc_code_rejected")

    # ------------------------------------------------------------------ return_to

    def test_return_to_outside_the_allow_list_is_refused(self):
        for bad in ("https://evil.example/", RETURN_TO + "/x", RETURN_TO + "#x",
                    "//evil.example", "javascript:alert(1)"):
            r = call("GET", "/auth/oidc/real/start?" + urllib.parse.urlencode(
                {"return_to": bad}))
            p = assert_problem(r, 422, "return_to_not_allowed")
            self.assertEqual(harness.problem_fields(p), ["return_to"])
        p = assert_problem(call("GET", "/auth/oidc/real/start"), 422, "validation_failed")
        self.assertEqual(harness.problem_fields(p), ["return_to"])

    def test_unknown_provider_is_404(self):
        q = urllib.parse.urlencode({"return_to": RETURN_TO})
        assert_problem(call("GET", "/auth/oidc/nope/start?" + q), 404, "not_found")
        assert_problem(call("GET", "/auth/oidc/nope/callback?state=x&code=y"), 404,
                       "not_found")

    def test_provider_down_is_a_clear_503(self):
        q = urllib.parse.urlencode({"return_to": RETURN_TO})
        r = call("GET", "/auth/oidc/down/start?" + q, timeout=15)
        assert_problem(r, 503, "provider_unavailable")
        self.assertIn("retry-after", {k.lower() for k in r.headers.keys()})
        self.assertTrue(harness.healthy(self.pool(1)))

    # ------------------------------------------------------------------ forged ID tokens

    def refused(self, mode, reason):
        r = self.fake_callback(mode)
        p = assert_problem(r, 401, "oidc_id_token_invalid")
        self.assertIn(reason, p["detail"])

    def test_wrong_nonce_is_refused(self):
        self.refused("wrong_nonce", "wrong_nonce")

    def test_expired_id_token_is_refused(self):
        self.refused("expired", "expired")

    def test_wrong_audience_is_refused(self):
        self.refused("wrong_aud", "wrong_audience")

    def test_wrong_azp_is_refused(self):
        self.refused("wrong_azp", "wrong_azp")

    def test_wrong_issuer_is_refused(self):
        self.refused("wrong_iss", "wrong_issuer")

    def test_token_signed_by_another_key_is_refused(self):
        self.refused("other_key", "bad_signature")

    def test_alg_none_is_refused(self):
        self.refused("alg_none", "alg_not_allowed")

    def test_hs256_with_the_public_key_is_refused(self):
        self.refused("hs256_pubkey", "alg_not_allowed")

    def test_forged_tokens_create_nothing(self):
        email = fresh_email("forged")
        r = self.fake_callback("other_key", email=email)
        assert_problem(r, 401, "oidc_id_token_invalid")
        self.assertEqual(psql("SELECT count(*) FROM users WHERE email = '%s'" % email), [["0"]])

    # ------------------------------------------------------------------ linking

    def test_verified_email_links_the_existing_account_and_tells_the_owner(self):
        email = fresh_email("link")
        user = self.register(email)
        body = self.real_sign_in("v:" + email)
        self.assertEqual(body["user"]["id"], user["id"])
        self.assertEqual(psql("SELECT provider FROM user_identities WHERE user_id = '%s'"
                              % user["id"]), [["real"]])
        self.assertEqual(psql("SELECT count(*) FROM audit_log WHERE event = 'oidc_linked' "
                              "AND user_id = '%s'" % user["id"]), [["1"]])
        msg = harness.wait_for_mail(email, subject_contains="linked")
        self.assertIn("real", msg["body"])
        # the password still works
        assert_json(call("POST", "/auth/login", {"email": email, "password": PASSWORD}), 200)

    def test_unverified_email_matching_an_account_is_not_linked(self):
        email = fresh_email("unv")
        user = self.register(email)
        callback_url = self.real_callback_url("u:" + email)
        r = self.callback(callback_url)
        assert_problem(r, 409, "oidc_email_unverified")
        self.assertEqual(psql("SELECT count(*) FROM user_identities WHERE user_id = '%s'"
                              % user["id"]), [["0"]])
        # nor is a new account made for an unverified address
        other = fresh_email("unv2")
        r = self.callback(self.real_callback_url("u:" + other))
        assert_problem(r, 403, "oidc_email_unverified")
        self.assertEqual(psql("SELECT count(*) FROM users WHERE email = '%s'" % other), [["0"]])

    def test_account_made_by_a_provider_can_set_a_password(self):
        email = fresh_email("pw")
        self.real_sign_in("v:" + email)
        assert_json(call("POST", "/auth/forget-password", {"email": email}), 202)
        msg = harness.wait_for_mail(email, subject_contains="reset")
        r = call("POST", "/auth/reset-password", {"email": email, "code":
                                                  harness.extract_code(msg),
                                                  "new_password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        assert_json(call("POST", "/auth/login", {"email": email, "password": PASSWORD}), 200)

    # ------------------------------------------------------------------ unlinking

    def test_unlink_refused_when_it_is_the_only_way_to_sign_in(self):
        body = self.real_sign_in("v:" + fresh_email("only"))
        h = bearer(body["access_token"])
        assert_problem(call("DELETE", "/users/me/identities/real", headers=h), 409,
                       "last_sign_in_method")
        self.assertEqual(psql("SELECT count(*) FROM user_identities WHERE user_id = '%s'"
                              % body["user"]["id"]), [["1"]])
        assert_problem(call("DELETE", "/users/me/identities/fake", headers=h), 404, "not_found")
        assert_problem(call("DELETE", "/users/me/identities/real"), 401)

    def test_unlink_with_a_password(self):
        email = fresh_email("unl")
        user = self.register(email)
        body = self.real_sign_in("v:" + email)
        h = bearer(body["access_token"])
        me = assert_json(call("GET", "/users/me", headers=h), 200)
        self.assertEqual([(i["provider"], i["email"]) for i in me["identities"]],
                         [("real", email)])
        self.assertRegex(me["identities"][0]["linked_at"], r"^\d{4}-\d\d-\d\dT.*Z$")
        r = call("DELETE", "/users/me/identities/real", headers=h)
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(assert_json(call("GET", "/users/me", headers=h), 200)["identities"], [])
        self.assertEqual(psql("SELECT count(*) FROM user_identities WHERE user_id = '%s'"
                              % user["id"]), [["0"]])
        assert_problem(call("DELETE", "/users/me/identities/real", headers=h), 404, "not_found")

    # ------------------------------------------------------------------ key rotation

    def test_key_rotation_new_kid_fetched_once_and_accepted(self):
        # Both pools have one worker: sign in through each so both cache the old keys.
        for pool in (1, 2):
            self.real_sign_in("v:" + fresh_email("warm"), pool=pool)
        req = urllib.request.Request(self.real + "/_control/rotate", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=20) as f:
            new_kid = json.loads(f.read())["kid"]
        before = self.real_stats()["jwks"]
        body = self.real_sign_in("v:" + fresh_email("rot"), pool=1)
        self.assertTrue(body["access_token"])
        self.assertEqual(self.real_stats()["jwks"], before + 1)
        # the refreshed keys serve the next sign-in without another fetch
        self.real_sign_in("v:" + fresh_email("rot2"), pool=1)
        self.assertEqual(self.real_stats()["jwks"], before + 1)
        self.assertTrue(new_kid)

    # ------------------------------------------------------------------ configuration

    def test_config_check_reads_listed_providers_and_masks_the_secret(self):
        secret = "oidc-secret-" + uuid.uuid4().hex
        ok = {"MEDRIN_OIDC_PROVIDERS": "Acme", "MEDRIN_OIDC_ACME_ISSUER": "https://id.acme.test",
              "MEDRIN_OIDC_ACME_CLIENT_ID": "medrin", "MEDRIN_OIDC_ACME_CLIENT_SECRET": secret,
              "MEDRIN_OIDC_RETURN_URLS": RETURN_TO,
              "MEDRIN_OIDC_OTHER_CLIENT_SECRET": "not read: not listed"}
        p = harness.medrinctl("config", "check", **ok)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("MEDRIN_OIDC_ACME_CLIENT_SECRET=****", p.stdout)
        self.assertIn("MEDRIN_OIDC_ACME_ISSUER=https://id.acme.test", p.stdout)
        self.assertIn("MEDRIN_OIDC_ACME_SCOPES=openid email profile", p.stdout)
        self.assertNotIn(secret, p.stdout + p.stderr)
        self.assertNotIn("OTHER", p.stdout)
        bad = [
            ({"MEDRIN_OIDC_ACME_ISSUER": None}, "MEDRIN_OIDC_ACME_ISSUER"),
            ({"MEDRIN_OIDC_ACME_ISSUER": "http://id.acme.test"}, "MEDRIN_OIDC_ACME_ISSUER"),
            ({"MEDRIN_OIDC_ACME_CLIENT_ID": None}, "MEDRIN_OIDC_ACME_CLIENT_ID"),
            ({"MEDRIN_OIDC_ACME_CLIENT_SECRET": None}, "MEDRIN_OIDC_ACME_CLIENT_SECRET"),
            ({"MEDRIN_OIDC_ACME_SCOPES": "email profile"}, "MEDRIN_OIDC_ACME_SCOPES"),
            ({"MEDRIN_OIDC_RETURN_URLS": None}, "MEDRIN_OIDC_RETURN_URLS"),
            ({"MEDRIN_OIDC_PROVIDERS": "acme,ACME"}, "MEDRIN_OIDC_PROVIDERS"),
            ({"MEDRIN_OIDC_PROVIDERS": "ac-me"}, "MEDRIN_OIDC_PROVIDERS"),
            ({"MEDRIN_OIDC_PROVIDERS": ",".join("p%d" % i for i in range(9))},
             "MEDRIN_OIDC_PROVIDERS"),
        ]
        for change, key in bad:
            with self.subTest(key=key, change=change):
                env = dict(ok)
                env.update(change)
                p = harness.medrinctl("config", "check", **env)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(key, p.stdout + p.stderr)
                self.assertNotIn(secret, p.stdout + p.stderr)

    def test_no_secret_in_logs(self):
        harness.assert_no_secrets_in_logs([CLIENT_SECRET])


if __name__ == "__main__":
    unittest.main()
