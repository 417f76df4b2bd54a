"""CORS (MEDRIN_CORS_ORIGINS, docs/api.md "Browsers and CORS"), checked at the HTTP level
and in headless Chromium. Pool 1 is reloaded with an allow-list naming one local origin
(its env file, SIGHUP; put back afterwards). Then: a preflight from that origin is 204
with Access-Control-Allow-Origin equal to it (never "*", no Allow-Credentials), the
route's methods, Authorization and Content-Type, and a Max-Age; a preflight from any other
origin is 403 cors_origin_not_allowed with no CORS header; actual responses (errors too)
carry the header for the allowed origin only, with Vary: Origin; pool 2 (no list) sends
no CORS header and answers OPTIONS 405 as before. In Chromium (tests/browser/cors.mjs) a
page served from the allowed origin signs in with fetch and reads /auth/me; the same page
from an origin not on the list gets "Failed to fetch" for both: the browser blocked them.
"*" or a path in the list is a configuration error (medrinctl config check exits 2)."""

import functools
import http.server
import socketserver
import threading
import unittest

import harness
from harness import assert_problem, call
from test_auth import PASSWORD, register
from test_docs import browser

PAGE = b"<!doctype html><html><head><title>front-end</title></head><body>app</body></html>\n"


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


def serve_page():
    """A front-end origin on a free loopback port; returns (origin, server)."""
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Page)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_address[1], srv


class Cors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.allowed, cls.srv_a = serve_page()
        cls.other, cls.srv_b = serve_page()
        cls.pool1 = harness.pool_urls()[0]
        cls.pool2 = harness.pool_urls()[1] if len(harness.pool_urls()) > 1 else None
        with open(harness.pool_env_file(1)) as f:
            cls.old_env = f.read()
        content = cls.old_env
        if content and not content.endswith("\n"):
            content += "\n"
        cls.old = harness.reload_pool(
            1, content + "MEDRIN_CORS_ORIGINS=https://app.example.com, %s\n" % cls.allowed)

    @classmethod
    def tearDownClass(cls):
        harness.reload_pool(1, cls.old_env)
        for s in (cls.srv_a, cls.srv_b):
            s.shutdown()
            s.server_close()

    def preflight(self, origin, method="POST", path="/auth/login", base=None):
        return call("OPTIONS", path, base=base or self.pool1, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type"})

    def test_preflight_from_allowed_origin(self):
        r = self.preflight(self.allowed)
        self.assertEqual(r.status, 204, r.text)
        h = r.headers
        self.assertEqual(h["access-control-allow-origin"], self.allowed)
        self.assertIn("POST", h["access-control-allow-methods"])
        allow_headers = [x.strip().lower() for x in h["access-control-allow-headers"].split(",")]
        self.assertIn("authorization", allow_headers)
        self.assertIn("content-type", allow_headers)
        self.assertGreater(int(h["access-control-max-age"]), 0)
        self.assertIsNone(h.get("access-control-allow-credentials"))
        self.assertIn("Origin", h.get("vary", ""))
        r = self.preflight(self.allowed, "GET", "/auth/me")
        self.assertEqual(r.status, 204)
        self.assertIn("GET", r.headers["access-control-allow-methods"])

    def test_preflight_from_other_origins_refused(self):
        for origin in (self.other, "https://app.example.com.evil.test", "null",
                       self.allowed + "/", self.allowed.replace("http:", "https:")):
            with self.subTest(origin=origin):
                r = self.preflight(origin)
                assert_problem(r, 403, "cors_origin_not_allowed")
                self.assertIsNone(r.headers.get("access-control-allow-origin"))
                self.assertIsNone(r.headers.get("access-control-allow-methods"))

    def test_preflight_of_unknown_path_is_404(self):
        r = self.preflight(self.allowed, "GET", "/no-such-endpoint")
        assert_problem(r, 404, "not_found")

    def test_actual_responses(self):
        r = call("GET", "/health", base=self.pool1, headers={"Origin": self.allowed})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["access-control-allow-origin"], self.allowed)
        self.assertIn("Origin", r.headers["vary"])
        # errors are readable by the allowed front-end too
        r = call("GET", "/auth/me", base=self.pool1, headers={"Origin": self.allowed})
        assert_problem(r, 401)
        self.assertEqual(r.headers["access-control-allow-origin"], self.allowed)
        self.assertIn("WWW-Authenticate", r.headers["access-control-expose-headers"])
        for origin in (self.other, "*", ""):
            r = call("GET", "/health", base=self.pool1, headers={"Origin": origin})
            self.assertIsNone(r.headers.get("access-control-allow-origin"), origin)
        r = call("GET", "/health", base=self.pool1)
        self.assertIsNone(r.headers.get("access-control-allow-origin"))

    def test_no_cors_without_a_list(self):
        if self.pool2 is None:
            self.fail("needs two pools (MEDRIN_POOLS=2)")
        r = self.preflight(self.allowed, base=self.pool2)
        assert_problem(r, 405, "method_not_allowed")
        r = call("GET", "/health", base=self.pool2, headers={"Origin": self.allowed})
        self.assertIsNone(r.headers.get("access-control-allow-origin"))
        self.assertIsNone(r.headers.get("vary"))

    def test_wildcard_and_paths_refused_by_configuration(self):
        for bad in ("*", "https://app.example.com/", "https://app.example.com/path",
                    "app.example.com", "https://*.example.com"):
            with self.subTest(value=bad):
                p = harness.medrinctl("config", "check", MEDRIN_CORS_ORIGINS=bad)
                self.assertEqual(p.returncode, 2, p.stdout)
                self.assertIn("MEDRIN_CORS_ORIGINS", p.stderr)
        p = harness.medrinctl("config", "check",
                              MEDRIN_CORS_ORIGINS="https://a.example.com, http://localhost:3000")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_browser_front_end_on_allowed_origin(self):
        email, _ = register()
        res = browser("cors.mjs", PAGE_URL=self.allowed + "/", API=self.pool1, EMAIL=email,
                      PASSWORD=PASSWORD)
        self.assertEqual(res["origin"], self.allowed)
        self.assertEqual(res["login"].get("status"), 200, res["login"])
        self.assertEqual(res["me"].get("status"), 200, res["me"])
        self.assertIn(email, res["me"]["body"])

    def test_browser_blocks_other_origin(self):
        email, _ = register()
        res = browser("cors.mjs", PAGE_URL=self.other + "/", API=self.pool1, EMAIL=email,
                      PASSWORD=PASSWORD)
        self.assertEqual(res["origin"], self.other)
        for step in ("login", "me"):
            self.assertIn("error", res[step], "%s was not blocked: %r" % (step, res[step]))
            self.assertIn("Failed to fetch", res[step]["error"])
            self.assertNotIn("status", res[step])


if __name__ == "__main__":
    unittest.main()
