"""The API reference (docs/openapi.json) against the route table (lib/api/routes.c) and the
running server: it is OpenAPI 3.1, every route is documented and nothing documented is
stale, every operation documents its client errors, request bodies are closed
(additionalProperties: false), and the server is exactly that strict: an unknown member
is a 422 naming it, next to every required field the schema lists.

The live checks send one request per documented POST body, with an unknown member; every
handler validates its fields before any side effect (lib/api/auth.c), so no mail is sent,
no code is spent and no OTP limit is counted."""

import json
import os
import re
import unittest

import harness
from harness import assert_problem, call, problem_fields

DOC_PATH = os.path.join(harness.ROOT, "docs", "openapi.json")
ROUTES_PATH = os.path.join(harness.ROOT, "lib", "api", "routes.c")

# A row of the route table: { { "METHOD", "/api/v1/..." }, handler, flags, max_body, name }
ROUTE_ROW = re.compile(r'\{\s*\{\s*"([A-Z]+)"\s*,\s*"(/api/v1/[^"]*)"\s*\}\s*,\s*(\w+)\s*,'
                       r'\s*([^,]+?)\s*,')
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
UNKNOWN = "no_such_field"


def load_doc():
    with open(DOC_PATH, encoding="utf-8") as f:
        return json.load(f)


def route_table():
    """{(method, path): flags text} for every row of routes.c except /_test/ routes."""
    with open(ROUTES_PATH, encoding="utf-8") as f:
        text = f.read()
    rows = {}
    for method, path, _handler, flags in ROUTE_ROW.findall(text):
        if "/_test/" in path:
            continue
        rows[(method, path)] = flags
    return rows


def operations(doc):
    """(method upper-case, path, operation) for every documented operation."""
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, op


def resolve(doc, obj):
    """Follows local $refs ("#/components/...") until obj is not a reference."""
    seen = set()
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise AssertionError("unresolvable $ref %r" % ref)
        seen.add(ref)
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise AssertionError("dangling $ref %r" % ref)
            node = node[part]
        obj = node
    return obj


def json_body_schema(doc, op):
    """The resolved application/json schema of op's requestBody, or None."""
    body = op.get("requestBody")
    if body is None:
        return None
    body = resolve(doc, body)
    media = body.get("content", {}).get("application/json")
    if media is None:
        return None
    return resolve(doc, media.get("schema", {}))


def needs_token(op):
    """True when every security alternative of op needs credentials ({} is "none")."""
    security = op.get("security")
    return bool(security) and all(req for req in security)


def concrete(path):
    """A documented path with its parameters filled in (a well-formed, unknown id)."""
    return re.sub(r"\{[^}/]+\}", "0" * 32, path)


def refs_in(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_in(v)


class DocumentTest(unittest.TestCase):
    """The document itself, against the route table."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_doc()
        cls.routes = route_table()

    def test_parses_and_is_openapi_3_1(self):
        self.assertIsInstance(self.doc, dict)
        self.assertRegex(str(self.doc.get("openapi")), r"^3\.1\.\d+$")
        info = self.doc.get("info", {})
        self.assertTrue(info.get("title"))
        self.assertTrue(info.get("version"))
        self.assertIn("MEDRIN_TEST_ROUTES=1", info.get("description", ""))
        self.assertIsInstance(self.doc.get("paths"), dict)

    def test_route_table_was_read(self):
        # Guards the regex: an empty table would make the comparisons below vacuous.
        self.assertIn(("GET", "/api/v1/health"), self.routes)
        self.assertIn(("POST", "/api/v1/auth/login"), self.routes)
        self.assertGreaterEqual(len(self.routes), 10)

    def test_every_route_is_documented(self):
        documented = {(m, p) for m, p, _ in operations(self.doc)}
        missing = sorted(set(self.routes) - documented)
        self.assertEqual(missing, [], "routes in lib/api/routes.c missing from docs/openapi.json")

    def test_no_stale_operations(self):
        documented = {(m, p) for m, p, _ in operations(self.doc)}
        stale = sorted(documented - set(self.routes))
        self.assertEqual(stale, [], "documented operations that lib/api/routes.c does not have")

    def test_test_routes_are_not_documented(self):
        self.assertEqual([p for p in self.doc["paths"] if "/_test/" in p], [])

    def test_every_operation_is_described(self):
        for method, path, op in operations(self.doc):
            with self.subTest(op="%s %s" % (method, path)):
                self.assertTrue(op.get("summary"))
                self.assertTrue(op.get("description"))
                self.assertIn("security", op, "security must be explicit ([] when public)")

    def test_every_operation_has_a_4xx_response(self):
        for method, path, op in operations(self.doc):
            with self.subTest(op="%s %s" % (method, path)):
                codes = [str(c) for c in op.get("responses", {})]
                self.assertTrue(any(re.match(r"^4(\d\d|XX)$", c) for c in codes), codes)
                # a success: 2xx, or a redirect for the sign-in redirects (302)
                self.assertTrue(any(c[0] in "23" for c in codes), codes)

    def test_json_request_bodies_are_closed(self):
        bodies = 0
        for method, path, op in operations(self.doc):
            schema = json_body_schema(self.doc, op)
            if schema is None:
                continue
            bodies += 1
            with self.subTest(op="%s %s" % (method, path)):
                self.assertIs(schema.get("additionalProperties"), False)
                self.assertEqual(schema.get("type"), "object")
                props = schema.get("properties", {})
                for name in schema.get("required", []):
                    self.assertIn(name, props, "required field %r has no schema" % name)
        self.assertGreater(bodies, 0)

    def test_json_bodies_only_on_json_routes(self):
        # A requestBody documents what the server parses: ROUTE_JSON rows, and only them.
        for method, path, op in operations(self.doc):
            flags = self.routes.get((method, path))
            if flags is None:
                continue
            with self.subTest(op="%s %s" % (method, path)):
                self.assertEqual(json_body_schema(self.doc, op) is not None,
                                 "ROUTE_JSON" in flags, flags)

    def test_authenticated_routes_declare_security(self):
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        for method, path, op in operations(self.doc):
            flags = self.routes.get((method, path), "")
            with self.subTest(op="%s %s" % (method, path)):
                for req in op.get("security", []):
                    for name in req:
                        self.assertIn(name, schemes)
                self.assertEqual(needs_token(op), "ROUTE_AUTH" in flags, flags)
                if "ROUTE_AUTH" in flags:
                    self.assertIn("401", [str(c) for c in op["responses"]])

    def test_components(self):
        comps = self.doc.get("components", {})
        for name in ("User", "TokenPair", "Problem", "ValidationProblem", "Session"):
            self.assertIn(name, comps.get("schemas", {}))
        schemes = comps.get("securitySchemes", {})
        self.assertEqual(schemes.get("bearerAuth", {}).get("scheme"), "bearer")
        self.assertEqual(schemes.get("basicAuth", {}).get("scheme"), "basic")
        self.assertIn("x-access-token",
                      [s.get("name", "").lower() for s in schemes.values() if s.get("in") == "header"])
        codes = resolve(self.doc, comps["schemas"]["Problem"])["properties"]["code"]["enum"]
        for code in ("unknown_field", "validation_failed", "otp_blocked", "otp_invalid",
                     "dependency_unavailable", "unauthorized", "body_too_large"):
            self.assertIn(code, codes)

    def test_every_ref_resolves(self):
        for ref in sorted(set(refs_in(self.doc))):
            with self.subTest(ref=ref):
                resolve(self.doc, {"$ref": ref})


class ServerAgreesTest(unittest.TestCase):
    """The running server is as strict as the document says."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_doc()

    def send(self, method, path, **kw):
        """One request; a 429 from nginx's per-address limit never reached the application,
        so only then is it sent again."""
        box = {}

        def attempt():
            r = call(method, path, **kw)
            box["r"] = r
            if r.status != 429 or r.content_type != "application/problem+json":
                return True
            return r.json().get("code") != "rate_limited"

        harness.wait_until(attempt, timeout=15, interval=0.5,
                           message="%s %s kept getting nginx's 429" % (method, path))
        return box["r"]

    def test_unknown_member_is_refused_like_the_schema_says(self):
        checked = 0
        for method, path, op in operations(self.doc):
            schema = json_body_schema(self.doc, op)
            if method != "POST" or schema is None:
                continue
            checked += 1
            with self.subTest(op="%s %s" % (method, path)):
                r = self.send(method, concrete(path), body={UNKNOWN: 1})
                if needs_token(op) and r.status == 401:
                    assert_problem(r, 401, "unauthorized")
                    continue
                p = assert_problem(r, 422)
                self.assertIn(p.get("code"), ("unknown_field", "validation_failed"), r)
                fields = set(problem_fields(p))
                self.assertIn(UNKNOWN, fields, r)
                # Validation collects every problem: the rest are the missing required fields.
                self.assertEqual(fields - {UNKNOWN}, set(schema.get("required", [])), r)
        self.assertGreater(checked, 0)

    def test_secured_operations_refuse_anonymous_calls(self):
        for method, path, op in operations(self.doc):
            if not needs_token(op):
                continue
            with self.subTest(op="%s %s" % (method, path)):
                r = self.send(method, concrete(path))
                assert_problem(r, 401, "unauthorized")
                self.assertEqual((r.headers.get("www-authenticate") or "").split(" ")[0],
                                 "Bearer", r)

    def test_public_reads_need_no_token(self):
        for method, path, op in operations(self.doc):
            if method != "GET" or needs_token(op):
                continue
            with self.subTest(op="%s %s" % (method, path)):
                r = self.send(method, concrete(path))
                # An unknown id (or provider name) may be a documented 404; the route
                # itself must exist and be public.
                refused = (401, 405) if "{" in path and "404" in op.get("responses", {}) \
                    else (401, 404, 405)
                self.assertNotIn(r.status, refused, r)
                if r.status == 404:
                    assert_problem(r, 404, "not_found")


if __name__ == "__main__":
    unittest.main()
