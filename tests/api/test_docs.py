"""The API reference the project serves itself (docs/api.md, "The reference page"):
/api/v1/openapi.json is docs/openapi.json byte for byte, /api/v1/docs is the Swagger UI
page from the pinned npm build (no file from another origin), the document's `servers`
entry is relative and every operation carries an example request and response; and, in
headless Chromium (tests/browser/docs-page.mjs: Debian's /usr/bin/chromium through
puppeteer-core), the page lists every operation of the document, a "Try it out" of
GET /api/v1/health gets 200 {"status":"ok"}, and with an access token entered in the
Authorize dialog a "Try it out" of GET /api/v1/auth/me gets 200 with the caller's user.
The screenshot is left in build/test-logs/api-docs.png."""

import json
import os
import subprocess
import unittest

import harness
from harness import call
from test_auth import register

DOC_PATH = os.path.join(harness.ROOT, "docs", "openapi.json")
BROWSER_DIR = os.path.join(harness.ROOT, "tests", "browser")
ARTEFACTS = os.path.join(harness.ROOT, "build", "test-logs")
METHODS = ("get", "put", "post", "delete", "patch")


def document():
    with open(DOC_PATH, "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def has_example(content):
    return any("example" in c or "examples" in c for c in (content or {}).values())


def browser(script, timeout=120, **extra):
    """Runs tests/browser/SCRIPT with node; returns its JSON result."""
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "puppeteer-core")):
        raise AssertionError("tests/browser/node_modules is missing: run script/bootstrap")
    e = harness.child_env(**extra)
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, script)], env=e, cwd=harness.ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (script, p.returncode,
                                                       p.stderr.decode("utf-8", "replace")[-3000:]))
    return json.loads(p.stdout.decode("utf-8").strip().splitlines()[-1])


class ServedDocument(unittest.TestCase):
    def test_openapi_json_is_served_as_is(self):
        raw, _ = document()
        r = call("GET", "/openapi.json")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("application/json"),
                        r.headers["content-type"])
        self.assertEqual(r.body, raw, "the served document differs from docs/openapi.json")

    def test_docs_page_is_served_with_its_own_csp(self):
        r = call("GET", "/docs")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        self.assertIn("swagger-ui-bundle.js", r.text)
        csp = r.headers["content-security-policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.headers["x-frame-options"], "DENY")
        # everything the page loads is a same-origin path (no CDN)
        self.assertNotIn("//", r.text.replace("<!--", "").split("-->")[-1].replace("://", ""),
                         "the page references another origin")
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "medrin-docs.js"):
            a = call("GET", "/docs/" + asset)
            self.assertEqual(a.status, 200, asset)
            self.assertGreater(len(a.body), 100, asset)
        self.assertEqual(call("GET", "/docs/").status, 301)
        self.assertEqual(call("GET", "/docs/no-such-file.js").status, 404)

    def test_servers_entry_is_relative(self):
        _, doc = document()
        for s in doc["servers"]:
            self.assertTrue(s["url"].startswith("/"), s["url"])
            self.assertNotIn("example.com", s["url"])

    def test_every_operation_has_an_example_request_and_response(self):
        _, doc = document()
        for method, path, op in operations(doc):
            with self.subTest(op="%s %s" % (method, path)):
                rb = op.get("requestBody")
                if rb is not None:
                    self.assertTrue(has_example(rb.get("content")), "no request body example")
                self.assertTrue(op.get("x-codeSamples"), "no example request (x-codeSamples)")
                ok = [r for code, r in op["responses"].items() if code.startswith("2")]
                if not ok:
                    # A redirect endpoint (the OpenID Connect start and callback) succeeds
                    # with a 3xx whose example is its Location header.
                    ok = [r for code, r in op["responses"].items() if code.startswith("3")]
                    for r in ok:
                        loc = harness_resolve(doc, r).get("headers", {}).get("Location", {})
                        self.assertTrue("example" in harness_resolve(doc, loc),
                                        "no Location example on the redirect")
                self.assertTrue(ok, "no success response")
                for r in ok:
                    r = harness_resolve(doc, r)
                    if r.get("content"):
                        self.assertTrue(has_example(r["content"]), "no response example")


def harness_resolve(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"][2:].split("/"):
            node = node[part]
        obj = node
    return obj


class DocsPageInChromium(unittest.TestCase):
    def test_page_lists_operations_and_try_it_works(self):
        _, doc = document()
        email, tokens = register()
        os.makedirs(ARTEFACTS, exist_ok=True)
        shot = os.path.join(ARTEFACTS, "api-docs.png")
        if os.path.exists(shot):
            os.unlink(shot)
        res = browser("docs-page.mjs", MEDRIN_URL=harness.base_url(),
                      ACCESS=tokens["access_token"], SCREENSHOT=shot)
        self.assertEqual(res["page_status"], 200)
        want = sorted("%s %s" % (m, p) for m, p, _ in operations(doc))
        self.assertEqual(sorted(res["operations"]), want)
        self.assertEqual(res["health"]["status"], "200", res["health"])
        self.assertEqual(json.loads(res["health"]["body"]), {"status": "ok"})
        self.assertIsNotNone(res["me"], "no Try-it-out of /auth/me")
        self.assertEqual(res["me"]["status"], "200", res["me"])
        self.assertEqual(json.loads(res["me"]["body"])["email"], email)
        self.assertIn("Authorization: Bearer", res["me"]["curl"])
        origin = harness.base_url()
        foreign = [u for u in res["requests"] if not u.startswith(origin + "/")
                   and not u.startswith("data:")]
        self.assertEqual(foreign, [], "the page loaded something from another origin")
        self.assertEqual(res["console_errors"], [])
        self.assertTrue(os.path.getsize(shot) > 10000, "no screenshot")


if __name__ == "__main__":
    unittest.main()
