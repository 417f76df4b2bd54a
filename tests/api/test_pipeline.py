"""The request pipeline (api.md "Conventions", lib/api/dispatch.h): 404/405, body limits,
content type, JSON parsing and validation, through nginx, on the test-only echo route."""

import json
import unittest

import harness
from harness import assert_json, assert_problem, call, problem_fields

ECHO = "/api/v1/_test/echo"


class RoutingTest(unittest.TestCase):
    def test_unknown_route_is_404_problem(self):
        assert_problem(call("GET", "/api/v1/no/such/route"), 404, "not_found")

    def test_unknown_route_with_body_is_404_problem(self):
        assert_problem(call("POST", "/api/v1/no-such-route", body={"a": 1}), 404, "not_found")

    def test_wrong_method_is_405_with_allow(self):
        for method in ("DELETE", "POST", "PUT", "PATCH"):
            with self.subTest(method=method):
                r = call(method, "/api/v1/health")
                assert_problem(r, 405)
                allow = [m.strip().upper() for m in (r.headers.get("allow") or "").split(",")]
                self.assertIn("GET", allow, r.headers.get("allow"))
                self.assertNotIn(method, allow)

    def test_wrong_method_on_echo_allows_post(self):
        harness.require_test_routes()
        r = call("GET", ECHO)
        assert_problem(r, 405)
        allow = [m.strip().upper() for m in (r.headers.get("allow") or "").split(",")]
        self.assertIn("POST", allow, r.headers.get("allow"))

    def test_head_has_no_body_and_is_not_an_error_of_ours(self):
        r = call("HEAD", "/api/v1/health")
        self.assertIn(r.status, (200, 405), r)
        self.assertEqual(r.body, b"")
        if r.status == 405:
            self.assertIn("GET", (r.headers.get("allow") or "").upper())

    def test_trailing_slash_is_not_a_different_route_that_crashes(self):
        r = call("GET", "/api/v1/health/")
        self.assertIn(r.status, (200, 301, 308, 404), r)
        if r.status == 404:
            assert_problem(r, 404, "not_found")

    def test_junk_paths_under_api_are_400_or_404_problems(self):
        paths = ["/api/v1/%00", "/api/v1/health%00", "/api/v1/%ff%fe", "/api/v1/a%20b",
                 "/api/v1/" + "a" * 4000, "/api/v1/_test/echo%2f..", "/api/v1/x/..",
                 "/api/v1/{id}", "/api/v1/%", "/api/v1/health;.json", "/api/v1//health/x"]
        for path in paths:
            with self.subTest(path=path[:60]):
                r = call("GET", path)
                self.assertIn(r.status, (400, 404), r)
                self.assertNotIn(b"root:", r.body)
                assert_problem(r, r.status)

    def test_dot_dot_out_of_api_never_leaks_or_crashes(self):
        for path in ("/api/v1/../etc", "/api/v1/../../etc/passwd", "/api/../../etc/passwd",
                     "/api/v1/%2e%2e/%2e%2e/etc/passwd", "/api/v1/..%2f..%2fetc%2fpasswd",
                     "/api/v1/health/../../../etc/passwd%00"):
            with self.subTest(path=path):
                r = call("GET", path)
                self.assertLess(r.status, 500, r)
                self.assertNotIn(b"root:", r.body)
                if r.status >= 400 and r.content_type == "application/problem+json":
                    assert_problem(r, r.status)

    def test_test_routes_hidden_when_disabled(self):
        """With MEDRIN_TEST_ROUTES=0 every /_test/ route is a 404 like any unknown path
        (not a 405 that would reveal it). The test stack runs with them on, so pool 1 is
        reloaded with MEDRIN_TEST_ROUTES=0 in its env file (SIGHUP re-reads it), checked
        through its own URL, and reloaded back."""
        base = harness.pool_urls()[0]
        on = harness.env_get("MEDRIN_TEST_ROUTES", "0")

        def hidden():
            assert_problem(call("POST", ECHO, body={"name": "x"}, base=base), 404, "not_found")
            assert_problem(call("GET", ECHO, base=base), 404, "not_found")
            assert_problem(call("GET", "/api/v1/_test/sleep?ms=1", base=base), 404,
                           "not_found")

        if not harness.have_test_routes():
            hidden()
            return
        assert_json(call("POST", ECHO, body={"name": "x"}, base=base), 200)
        old = harness.reload_pool(1, "MEDRIN_TEST_ROUTES=0\n")
        try:
            hidden()
            # the other pools were not reloaded and still have them
            for other in harness.pool_urls()[1:]:
                assert_json(call("POST", ECHO, body={"name": "x"}, base=other), 200)
        finally:
            harness.reload_pool(1, "MEDRIN_TEST_ROUTES=%s\n" % on)
            harness.write_pool_env(1, old)
        assert_json(call("POST", ECHO, body={"name": "x"}, base=base), 200)


class EchoTest(unittest.TestCase):
    def setUp(self):
        harness.require_test_routes()

    def echo(self, **kw):
        return call("POST", ECHO, **kw)

    def test_valid_echo(self):
        r = self.echo(body={"name": "Ada", "count": 3})
        self.assertEqual(assert_json(r, 200), {"name": "Ada", "count": 3})

    def test_valid_echo_without_optional_count(self):
        body = assert_json(self.echo(body={"name": "Ada"}), 200)
        self.assertEqual(body.get("name"), "Ada")
        self.assertIn(body.get("count"), (None, 0))

    def test_charset_parameter_is_accepted(self):
        r = self.echo(raw=b'{"name":"Ada"}',
                      headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(assert_json(r, 200)["name"], "Ada")

    def test_unicode_round_trips(self):
        name = "Zo\u00eb \u6f22\u5b57 \U0001F600"
        r = self.echo(body={"name": name})
        self.assertEqual(assert_json(r, 200)["name"], name)

    def test_boundaries_accepted(self):
        for body in ({"name": "x" * 50, "count": 100}, {"name": "x", "count": 0}):
            with self.subTest(body=str(body)[:40]):
                self.assertEqual(assert_json(self.echo(body=body), 200), body)

    def test_chunked_body(self):
        payload = b'{"name":"chunky","count":7}'
        base = harness.base_url()
        _s, host, port, prefix = harness._split_base(base)
        req = (b"POST " + (prefix + ECHO).encode() + b" HTTP/1.1\r\n"
               b"Host: " + ("%s:%d" % (host, port)).encode() + b"\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n"
               + b"%x\r\n" % 10 + payload[:10] + b"\r\n"
               + b"%x\r\n" % (len(payload) - 10) + payload[10:] + b"\r\n0\r\n\r\n")
        r = harness.raw_request(req, method="POST")
        self.assertEqual(assert_json(r, 200), {"name": "chunky", "count": 7})

    # --- 400 malformed

    def test_malformed_json_is_400(self):
        for raw in (b'{"name": ', b"{name: 1}", b'{"name":"a"} trailing', b"",
                    b'{"name":"a",}', b"\x00"):
            with self.subTest(raw=raw):
                r = self.echo(raw=raw, headers={"Content-Type": "application/json"})
                if raw == b"":
                    # An empty body is "no body": the handler then sees {} (name missing).
                    self.assertIn(r.status, (400, 422), r)
                    assert_problem(r, r.status)
                    continue
                assert_problem(r, 400, "malformed_json")

    def test_deep_nesting_is_400(self):
        raw = b'{"name":"a","deep":' + b"[" * 1000 + b"]" * 1000 + b"}"
        assert_problem(self.echo(raw=raw, headers={"Content-Type": "application/json"}), 400)

    def test_deep_object_nesting_is_400(self):
        raw = b'{"name":"a","d":' + b'{"d":' * 1000 + b"1" + b"}" * 1000 + b"}"
        assert_problem(self.echo(raw=raw, headers={"Content-Type": "application/json"}), 400)

    def test_invalid_utf8_is_400(self):
        for raw in (b'{"name":"\xff\xfe"}', b'{"name":"\xc0\xaf"}', b'{"name":"\xed\xa0\x80"}'):
            with self.subTest(raw=raw):
                r = self.echo(raw=raw, headers={"Content-Type": "application/json"})
                assert_problem(r, 400)

    def test_duplicate_keys_do_not_crash(self):
        r = self.echo(raw=b'{"name":"a","name":"b"}',
                      headers={"Content-Type": "application/json"})
        self.assertIn(r.status, (200, 400, 422), r)
        if r.status != 200:
            assert_problem(r, r.status)

    # --- 415

    def test_wrong_content_type_is_415(self):
        for ctype, raw in (("text/plain", b'{"name":"a"}'),
                           ("application/x-www-form-urlencoded", b"name=a"),
                           ("multipart/form-data; boundary=x",
                            b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\na\r\n--x--\r\n'),
                           ("application/jsonx", b'{"name":"a"}')):
            with self.subTest(ctype=ctype):
                r = self.echo(raw=raw, headers={"Content-Type": ctype})
                assert_problem(r, 415, "unsupported_media_type")

    def test_body_without_content_type_is_415(self):
        assert_problem(self.echo(raw=b'{"name":"a"}'), 415, "unsupported_media_type")

    # --- 413

    def test_body_over_route_limit_is_413(self):
        body = {"name": "x", "pad": "y" * (100 * 1024)}
        assert_problem(self.echo(body=body), 413, "body_too_large")

    def test_body_over_nginx_limit_is_413(self):
        r = self.echo(raw=b'{"name":"' + b"z" * (1536 * 1024) + b'"}',
                      headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r)

    def test_body_over_nginx_limit_is_a_problem(self):
        r = self.echo(raw=b'{"name":"' + b"z" * (1536 * 1024) + b'"}',
                      headers={"Content-Type": "application/json"})
        assert_problem(r, 413)

    # --- 422

    def test_non_object_json_is_422(self):
        for raw in (b"[]", b'[{"name":"a"}]', b"42", b'"name"', b"true", b"null"):
            with self.subTest(raw=raw):
                r = self.echo(raw=raw, headers={"Content-Type": "application/json"})
                assert_problem(r, 422)

    def assert_invalid(self, body, field, code="validation_failed"):
        p = assert_problem(self.echo(body=body), 422, code)
        self.assertIn(field, problem_fields(p), p)
        for e in p["errors"]:
            self.assertIsInstance(e.get("message"), str)
            self.assertTrue(e["message"])
        return p

    def test_missing_required_field(self):
        self.assert_invalid({"count": 1}, "name")
        self.assert_invalid({}, "name")

    def test_wrong_types(self):
        self.assert_invalid({"name": 5}, "name")
        self.assert_invalid({"name": None}, "name")
        self.assert_invalid({"name": ["a"]}, "name")
        self.assert_invalid({"name": "a", "count": "3"}, "count")
        self.assert_invalid({"name": "a", "count": 1.5}, "count")
        self.assert_invalid({"name": "a", "count": True}, "count")

    def test_out_of_range(self):
        self.assert_invalid({"name": "a", "count": 101}, "count")
        self.assert_invalid({"name": "a", "count": -1}, "count")
        self.assert_invalid({"name": "a", "count": 2 ** 40}, "count")
        # Beyond int64 the parser itself may refuse the number (400) instead of 422.
        r = self.echo(body={"name": "a", "count": 2 ** 63})
        self.assertIn(r.status, (400, 422), r)
        assert_problem(r, r.status)

    def test_string_length(self):
        self.assert_invalid({"name": "x" * 51}, "name")
        self.assert_invalid({"name": ""}, "name")

    def test_unknown_field(self):
        p = self.assert_invalid({"name": "a", "colour": "red"}, "colour", "unknown_field")
        self.assertNotIn("name", problem_fields(p))

    def test_every_problem_listed_at_once(self):
        p = assert_problem(self.echo(body={"count": 500, "extra": 1}), 422)
        fields = problem_fields(p)
        for f in ("name", "count", "extra"):
            self.assertIn(f, fields, p)

    def test_problem_never_leaks_internals(self):
        r = self.echo(raw=b'{"name": tru', headers={"Content-Type": "application/json"})
        p = assert_problem(r, 400, "malformed_json")
        text = json.dumps(p).lower()
        for leak in ("json_tokener", "json-c", ".c:", "traceback", "segfault"):
            self.assertNotIn(leak, text)


class SleepRouteTest(unittest.TestCase):
    def test_sleep_bounds(self):
        harness.require_test_routes()
        self.assertEqual(call("GET", "/api/v1/_test/sleep?ms=1").status, 200)
        for q in ("ms=10001", "ms=-1", "ms=abc"):
            with self.subTest(q=q):
                r = call("GET", "/api/v1/_test/sleep?" + q)
                self.assertIn(r.status, (400, 422), r)
                assert_problem(r, r.status)


if __name__ == "__main__":
    unittest.main()
