"""The GraphQL API as the tools see it, each run with node from tests/graphql/ (installed
by script/bootstrap from its package-lock.json):

- graphql-http's serverAudits (the GraphQL-over-HTTP audit suite) against the live
  endpoint: every MUST audit passes; the SHOULD and MAY results are printed;
- graphql-js builds a client schema from our introspection (buildClientSchema) and its
  printSchema equals docs/schema.graphql, the checked-in SDL;
- a table of documents gets the same verdict (valid or invalid) from graphql-js's
  validate() and from our validator;
- GraphiQL: the page and its scripts come from this server (no CDN) with a CSP, and
  Debian's headless chromium (puppeteer-core) runs `{ me { email } }` with a token in the
  Headers editor and sees the answer; the screenshot goes to build/test-logs/."""

import json
import os
import re
import subprocess
import unittest

import harness
from harness import call
from test_auth import register

TOOLS = os.path.join(harness.ROOT, "tests", "graphql")
SCHEMA = os.path.join(harness.ROOT, "docs", "schema.graphql")
SHOT = os.path.join(harness.ROOT, "build", "test-logs", "graphiql.png")


def endpoint():
    return harness.base_url() + "/api/v1/graphql"


def node(script, *args, stdin=None, timeout=300, **env):
    if not os.path.isdir(os.path.join(TOOLS, "node_modules")):
        raise AssertionError("tests/graphql/node_modules is missing: run script/bootstrap")
    e = dict(os.environ, NODE_EXTRA_CA_CERTS=harness.env_get("MEDRIN_CA_FILE", ""), **env)
    return subprocess.run(["node", os.path.join(TOOLS, script), *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=e, cwd=TOOLS)


def ours_valid(doc):
    """Our verdict: valid unless the server answers a parse or validation error."""
    r = call("POST", "/graphql", body={"query": doc},
             headers={"Accept": "application/graphql-response+json"})
    body = r.json()
    found = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    return not any(c in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED") for c in found), body


# (document, valid?) - each rule of section 5 that applies, both ways. The verdict column
# is what the spec says; the test checks that graphql-js and we both agree with it.
VERDICTS = [
    ("{ __typename }", True),
    ("query Q { me { id email } }", True),
    ("{ me { ...U } } fragment U on User { email firstName }", True),
    ("{ me { ... on User { email } } }", True),
    ("{ me { ... { email } } }", True),
    ("query ($s: Boolean!) { me @skip(if: $s) { email } }", True),
    ("query ($s: Boolean = true) { me @include(if: $s) { email } }", True),
    ("{ a: me { email } b: me { id } }", True),
    ("{ me { email email } }", True),
    ("{ me { email } me { id } }", True),
    ('{ __type(name: "User") { name fields { name } } }', True),
    ("query ($n: String!) { __type(name: $n) { name } }", True),
    ('query ($n: String = "User") { __type(name: $n) { name } }', True),
    ("{ __schema { types { name fields(includeDeprecated: true) { name } } } }", True),
    ("query A { me { id } } query B { __typename }", True),
    ("query ($d: Boolean = false) { __schema { types { fields(includeDeprecated: $d) "
     "{ name } } } }", True),
    ("query ($d: Boolean!) { __schema { types { fields(includeDeprecated: $d) { name } } } }",
     True),
    ("{ me { role accountType createdAt } }", True),
    ('{ __type(name: "Role") { enumValues(includeDeprecated: false) { name } } }', True),
    ("fragment A on Query { me { ...B } } fragment B on User { id } { ...A }", True),
    ("{ me { __typename } }", True),
    ('{ a: __type(name: "A") { name } b: __type(name: "B") { name } }', True),
    ("{ me { ...U ...U } } fragment U on User { id }", True),
    ("query ($s: Boolean!) { ...F } fragment F on Query { me @skip(if: $s) { id } }", True),
    ('{ __type(name: """User""") { name } }', True),
    ("{ nope }", False),
    ("{ me }", False),
    ("{ me { email { x } } }", False),
    ("{ __typename { x } }", False),
    ("{ me { ...U } }", False),
    ("{ me { id } } fragment U on User { id }", False),
    ("{ me { ...U } } fragment U on User { ...V } fragment V on User { ...U }", False),
    ("{ me { ...U } } fragment U on User { id ...U }", False),
    ("{ me { ...Q } } fragment Q on Query { __typename }", False),
    ("{ me { ... on Query { __typename } } }", False),
    ("{ me { ... on String { length } } }", False),
    ("{ me { ... on Nope { id } } }", False),
    ("fragment F on Nope { id } { ...F }", False),
    ("fragment F on Role { id } { ...F }", False),
    ("{ a: me { id } a: __typename }", False),
    ("{ me { x: email x: id } }", False),
    ('{ __type(name: "A") { name } __type(name: "B") { name } }', False),
    ('{ t: __type(name: "A") { name } t: __type(name: "A") { kind: name } }', True),
    ('{ t: __type(name: "A") { a: name } t: __type(name: "A") { a: kind } }', False),
    ("{ __type { name } }", False),
    ("{ __type(name: 1) { name } }", False),
    ("{ __type(name: null) { name } }", False),
    ('{ __type(name: "x", name: "y") { name } }', False),
    ('{ __type(name: "x", other: 1) { name } }', False),
    ("{ me(x: 1) { id } }", False),
    ("{ me @nope { id } }", False),
    ("query @skip(if: true) { me { id } }", False),
    ("{ me @skip(if: true) @skip(if: false) { id } }", False),
    ("{ me @skip { id } }", False),
    ('{ me @skip(if: "yes") { id } }', False),
    ("query ($s: Boolean) { me @skip(if: $s) { id } }", False),
    ("{ me @skip(if: $s) { id } }", False),
    ("query ($s: Boolean!) { me { id } }", False),
    ("query ($s: Boolean!, $s: Boolean!) { me @skip(if: $s) { id } }", False),
    ("query ($u: User) { me { id } }", False),
    ("query ($u: Nope) { me { id } }", False),
    ("query ($s: Int!) { me @skip(if: $s) { id } }", False),
    ("query ($s: [Boolean!]!) { me @skip(if: $s) { id } }", False),
    ("query A { me { id } } query A { __typename }", False),
    ("{ me { id } } query B { __typename }", False),
    ("query ($n: String = 1) { __type(name: $n) { name } }", False),
    ('{ __schema { types { fields(includeDeprecated: "yes") { name } } } }', False),
    ("fragment F on Query { __typename } fragment F on Query { __typename } { ...F }", False),
    ("query ($s: Boolean!) { ...F } fragment F on Query { me @skip(if: $t) { id } }", False),
    ("type Foo { a: Int }", False),
    ("{ me { id } ", False),
    ("{ me { id } } }", False),
    ("query ($s: Boolean = $t) { __typename }", False),
    ("{ me { id } }  fragment on on User { id }", False),
    ('{ __type(name: "\\u{D800}") { name } }', False),
    ('{ __type(name: "\\uD83D") { name } }', False),
    ("{ __type(name: 0x1) { name } }", False),
    ("{ __typename } # a comment\n", True),
    ("\ufeff{ __typename }", True),
    ("{ __typename @include(if: true) @skip(if: false) }", True),
    ("{ __schema { queryType { name } } __schema { types { name } } }", True),
    ("{ me { ... on User @include(if: true) { id } } }", True),
    ("{ me { ...U @skip(if: false) } } fragment U on User @skip(if: true) { id }", False),
    # the jobs schema: arguments, enums, input objects, mutations
    ('mutation { createJob(input: {companyName: "a", position: "b", status: APPLIED, '
     'appliedOn: "2026-01-01"}) { id } }', True),
    ("mutation ($in: JobInput!) { createJob(input: $in) { id } }", True),
    ("{ jobs(status: OFFER, sort: APPLIED_ON, first: 5) { nodes { id notes(first: 2) "
     "{ content } } pageInfo { endCursor } } }", True),
    ('mutation ($id: ID!) { updateJob(id: $id, input: {salary: {currency: "EUR", min: 1}}) '
     "{ salary { min } } }", True),
    ("{ jobStats { byStatus { applied } } }", True),
    ('mutation { a: deleteJob(id: "1") b: deleteJob(id: "2") }', True),
    ("query ($f: Int = 5) { jobs(first: $f) { nodes { id } } }", True),
    ("query ($f: Int!) { jobNotes(jobId: 1, first: $f) { nodes { id } } }", True),
    ('mutation { createJob(input: {companyName: "a"}) { id } }', False),
    ('mutation { createJob(input: {companyName: "a", position: "b", status: APPLIED, '
     'appliedOn: "2026-01-01", nope: 1}) { id } }', False),
    ('mutation { createJob(input: {companyName: "a", companyName: "b", position: "b", '
     'status: APPLIED, appliedOn: "x"}) { id } }', False),
    ('mutation { createJob(input: {companyName: "a", position: "b", status: APPLIED, '
     'appliedOn: "2026-01-01", salary: {min: 1}}) { id } }', False),
    ('{ jobs(status: "APPLIED") { nodes { id } } }', False),
    ("{ jobs(status: HIRED) { nodes { id } } }", False),
    ("mutation { deleteJob }", False),
    ('mutation { deleteJob(id: "x") { id } }', False),
    ("{ createJob(input: {}) { id } }", False),
    ("mutation ($in: JobPatch!) { createJob(input: $in) { id } }", False),
    ("mutation ($in: JobInput) { createJob(input: $in) { id } }", False),
    ("{ jobs { nodes { id } } jobs(first: 2) { nodes { id } } }", False),
    ("{ jobs(first: 1.5) { nodes { id } } }", False),
    ("{ jobs(first: 3000000000) { nodes { id } } }", False),
    ('query ($j: Job) { job(id: "1") { id } }', False),
    ("{ jobs { nodes { notes } } }", False),
    ("{ jobs { pageInfo { hasNextPage { x } } } }", False),
]


class AuditTest(unittest.TestCase):
    def test_graphql_http_server_audits(self):
        p = node("audit.mjs", endpoint())
        print("\n" + p.stdout.rstrip())          # the SHOULD and MAY results, for the log
        if p.stderr.strip():
            print(p.stderr.rstrip())
        self.assertIn("MUST audits failed: 0", p.stdout)
        self.assertEqual(p.returncode, 0)
        self.assertGreaterEqual(len(re.findall(r"^ok   \[\w+\] MUST", p.stdout, re.M)), 10)


class SchemaTest(unittest.TestCase):
    def test_printed_client_schema_is_docs_schema_graphql(self):
        p = node("introspect.mjs", endpoint())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(SCHEMA, encoding="utf-8") as f:
            checked_in = f.read()
        self.assertEqual(p.stdout, checked_in,
                         "docs/schema.graphql differs from what graphql-js builds from our "
                         "introspection (regenerate it with tests/graphql/introspect.mjs)")

    def test_every_query_and_type_the_contract_names(self):
        with open(SCHEMA, encoding="utf-8") as f:
            sdl = f.read()
        for name in ("type Query", "me: User", "type User", "scalar DateTime", "type Mutation",
                     "jobs(", "): JobConnection", "job(id: ID!): Job",
                     "jobNotes(", "jobStats: JobStats", "createJob(input: JobInput!): Job!",
                     "updateJob(", "deleteJob(id: ID!): Boolean!", "createNote(",
                     "updateNote(", "deleteNote(id: ID!): Boolean!", "user(id: ID!): User",
                     "resumes: [Resume!]", "resume(id: ID!): Resume"):
            self.assertIn(name, sdl)


class VerdictTest(unittest.TestCase):
    def test_same_verdicts_as_graphql_js(self):
        docs = [d for d, _ in VERDICTS]
        p = node("validate.mjs", endpoint(), stdin=json.dumps(docs))
        self.assertEqual(p.returncode, 0, p.stderr)
        theirs = json.loads(p.stdout)
        self.assertEqual(len(theirs), len(docs))
        self.assertGreaterEqual(sum(1 for _, v in VERDICTS if v), 20)
        self.assertGreaterEqual(sum(1 for _, v in VERDICTS if not v), 40)
        for (doc, want), js in zip(VERDICTS, theirs):
            mine, body = ours_valid(doc)
            with self.subTest(doc=doc):
                self.assertEqual(js["valid"], want, "graphql-js: %s" % js["errors"])
                self.assertEqual(mine, want, "ours: %s" % body.get("errors"))


class GraphiqlTest(unittest.TestCase):
    def test_page_is_served_here_with_a_csp(self):
        base = harness.base_url()
        r = call("GET", "/api/v1/graphiql/", base=base)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        csp = r.headers.get("content-security-policy", "")
        self.assertIn("script-src 'self'", csp)
        self.assertIn("connect-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
        srcs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        self.assertTrue(srcs)
        for s in srcs:
            with self.subTest(src=s):
                self.assertNotRegex(s, r"^(https?:)?//", "a resource from another origin")
                if s.startswith("data:"):
                    continue
                a = call("GET", "/api/v1/graphiql/" + s, base=base)
                self.assertEqual(a.status, 200, s)
                if s.endswith(".js"):
                    self.assertTrue(a.headers["content-type"].startswith(
                        "application/javascript"))
        r = call("GET", "/api/v1/graphiql", base=base)
        self.assertEqual(r.status, 301)
        self.assertTrue(r.headers["location"].endswith("/api/v1/graphiql/"))

    def test_chromium_runs_me_in_graphiql(self):
        email, tokens = register()
        os.makedirs(os.path.dirname(SHOT), exist_ok=True)
        if os.path.exists(SHOT):
            os.remove(SHOT)
        p = node("graphiql.mjs", harness.base_url(), SHOT, timeout=240,
                 MEDRIN_TOKEN=tokens["access_token"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(json.loads(out["result"]), {"data": {"me": {"email": email}}})
        self.assertEqual([m for m in out["console"] if m.startswith("error")], [])
        self.assertGreater(os.path.getsize(SHOT), 10000)


if __name__ == "__main__":
    unittest.main()
