"""Sessions: logout honoured by every pool at once (two pools behind one nginx upstream,
MEDRIN_POOL_URLS gives each pool's own URL), logout-all, the session list, and deleting
one session (only your own: another user's is 404)."""

import unittest

import harness
from harness import assert_json, assert_problem, call, psql
from test_auth import NoSecretsMixin, bearer, jwt_parts, login, post, register


def me(token, base=None):
    return call("GET", "/auth/me", headers=bearer(token), base=base)


def sid_of(tok):
    return jwt_parts(tok["access_token"])[1]["sid"]


class LogoutTest(unittest.TestCase):
    def test_logout_on_one_pool_is_honoured_by_every_pool(self):
        pools = harness.pool_urls()
        if len(pools) < 2:
            self.skipTest("needs two pools (MEDRIN_POOLS=2)")
        email, tok = register()
        for base in pools:
            assert_json(me(tok["access_token"], base), 200)
        r = call("POST", "/auth/logout", headers=bearer(tok["access_token"]), base=pools[0])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        for base in pools + [None]:
            with self.subTest(base=base):
                assert_problem(me(tok["access_token"], base), 401)
        # The session's refresh token died with it (through the other pool).
        assert_problem(post("/auth/refresh", {"refresh_token": tok["refresh_token"]},
                            base=pools[1]), 401)
        # Logging out again with the dead token: 401, not 204.
        assert_problem(call("POST", "/auth/logout", headers=bearer(tok["access_token"]),
                            base=pools[1]), 401)
        rows = psql("SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id "
                    "WHERE a.event = 'logout' AND u.email = '%s'" % email)
        self.assertEqual(rows[0][0], "1")

    def test_logout_leaves_other_sessions(self):
        email, tok = register()
        other = login(email)
        self.assertEqual(call("POST", "/auth/logout", headers=bearer(tok["access_token"])).status,
                         204)
        assert_problem(me(tok["access_token"]), 401)
        assert_json(me(other["access_token"]), 200)

    def test_logout_all(self):
        pools = harness.pool_urls()
        email, tok = register()
        others = [login(email, base=b) for b in pools]
        r = call("POST", "/auth/logout-all", headers=bearer(others[0]["access_token"]))
        self.assertEqual(r.status, 204, r)
        for t in [tok] + others:
            for base in pools:
                assert_problem(me(t["access_token"], base), 401)
            assert_problem(post("/auth/refresh", {"refresh_token": t["refresh_token"]}), 401)
        # Signing in again works.
        assert_json(me(login(email)["access_token"]), 200)


class SessionListTest(unittest.TestCase):
    def test_list_shows_live_sessions_with_current(self):
        email, tok = register()
        other = login(email, headers={"User-Agent": "medrin-test-agent/1.0"})
        r = call("GET", "/auth/sessions", headers=bearer(tok["access_token"]))
        body = assert_json(r, 200)
        self.assertIsNone(body["next_cursor"])
        items = body["items"]
        self.assertEqual({i["id"] for i in items}, {sid_of(tok), sid_of(other)})
        for i in items:
            self.assertEqual(set(i), {"id", "created_at", "last_used_at", "user_agent", "ip",
                                      "current"})
            self.assertRegex(i["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertRegex(i["last_used_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(i["current"], i["id"] == sid_of(tok))
        by_id = {i["id"]: i for i in items}
        self.assertEqual(by_id[sid_of(other)]["user_agent"], "medrin-test-agent/1.0")
        self.assertTrue(by_id[sid_of(other)]["ip"])
        # A logged-out session disappears from the list.
        call("POST", "/auth/logout", headers=bearer(other["access_token"]))
        items = assert_json(call("GET", "/auth/sessions", headers=bearer(tok["access_token"])),
                            200)["items"]
        self.assertEqual([i["id"] for i in items], [sid_of(tok)])

    def test_long_user_agent_is_cut(self):
        email, _ = register()
        tok = login(email, headers={"User-Agent": "u" * 500})
        items = assert_json(call("GET", "/auth/sessions", headers=bearer(tok["access_token"])),
                            200)["items"]
        ua = [i["user_agent"] for i in items if i["current"]][0]
        self.assertEqual(ua, "u" * 200)


class SessionDeleteTest(unittest.TestCase):
    def test_delete_own_session(self):
        email, tok = register()
        other = login(email)
        r = call("DELETE", "/auth/sessions/" + sid_of(other), headers=bearer(tok["access_token"]))
        self.assertEqual(r.status, 204, r)
        assert_problem(me(other["access_token"]), 401)
        assert_problem(post("/auth/refresh", {"refresh_token": other["refresh_token"]}), 401)
        assert_json(me(tok["access_token"]), 200)
        # Gone now: deleting it again is 404.
        r = call("DELETE", "/auth/sessions/" + sid_of(other), headers=bearer(tok["access_token"]))
        assert_problem(r, 404, "not_found")

    def test_another_users_session_is_404_and_untouched(self):
        _, mine = register()
        _, theirs = register()
        r = call("DELETE", "/auth/sessions/" + sid_of(theirs), headers=bearer(mine["access_token"]))
        assert_problem(r, 404, "not_found")
        assert_json(me(theirs["access_token"]), 200)
        items = assert_json(call("GET", "/auth/sessions", headers=bearer(mine["access_token"])),
                            200)["items"]
        self.assertNotIn(sid_of(theirs), [i["id"] for i in items])

    def test_unknown_and_malformed_ids_are_404(self):
        _, tok = register()
        for sid in ("0" * 32, "not-a-session", "A" * 32, "%2e%2e"):
            with self.subTest(sid=sid):
                r = call("DELETE", "/auth/sessions/" + sid, headers=bearer(tok["access_token"]))
                self.assertEqual(r.status, 404, r)
        assert_json(me(tok["access_token"]), 200)

    def test_delete_needs_a_bearer(self):
        _, tok = register()
        for headers in ({}, {"Authorization": "Bearer garbage"}):
            assert_problem(call("DELETE", "/auth/sessions/" + sid_of(tok), headers=headers), 401)
        assert_json(me(tok["access_token"]), 200)


class SessionCapAndPagesTest(unittest.TestCase):
    """Sessions per user are capped (MEDRIN_SESSIONS_MAX, oldest revoked) and the list is
    keyset-paged with limit and cursor (api.md's list shape)."""

    def test_cap_revokes_the_oldest_and_pages_cover_every_session_once(self):
        cap = int(harness.env_get("MEDRIN_SESSIONS_MAX", "20"))
        email, first = register()
        toks = [first] + [login(email) for _ in range(cap + 1)]   # cap + 2 sessions made
        # The two oldest were revoked when the cap was passed; the newest cap live on.
        for old in toks[:2]:
            assert_problem(me(old["access_token"]), 401)
        newest = toks[-1]["access_token"]
        assert_json(me(newest), 200)
        assert_json(me(toks[2]["access_token"]), 200)
        live = {sid_of(t) for t in toks[2:]}
        seen, cursor, pages = [], None, 0
        while True:
            path = "/auth/sessions?limit=7" + ("&cursor=" + cursor if cursor else "")
            body = assert_json(call("GET", path, headers=bearer(newest)), 200)
            self.assertLessEqual(len(body["items"]), 7)
            seen += [s["id"] for s in body["items"]]
            pages += 1
            if pages == 1:
                # A login between page fetches does not disturb the walk (it is newer
                # than the cursor), though it pushes out the oldest session.
                extra = login(email)
            cursor = body["next_cursor"]
            if cursor is None:
                break
            self.assertLess(pages, 10)
        self.assertEqual(len(seen), len(set(seen)), "a session was listed twice")
        self.assertNotIn(sid_of(extra), seen)
        self.assertEqual(set(seen), live - {sid_of(toks[2])}, "pages missed sessions")

    def test_bad_limit_and_cursor(self):
        _, tok = register()
        for q in ("limit=0", "limit=101", "limit=abc", "limit=", "cursor=nonsense",
                  "cursor=1_" + "z" * 32):
            with self.subTest(q=q):
                p = assert_problem(call("GET", "/auth/sessions?" + q,
                                        headers=bearer(tok["access_token"])), 422)
                self.assertEqual(harness.problem_fields(p), [q.split("=")[0]])


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()
