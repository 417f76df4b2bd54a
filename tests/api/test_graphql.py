"""GraphQL over HTTP at /api/v1/graphql (lib/api/graphql.c, the engine in lib/graphql/):
the transport (media types, GET for queries only, parameters, problem answers for what is
not a GraphQL request), authentication per field (anonymous __typename and introspection,
UNAUTHENTICATED without or with a bad token), the language (variables and defaults,
fragments, aliases, @skip/@include, operation names, partial results, error shapes) and
the limits (document size, depth, aliases, cost, introspection switched off).

The tools' view (graphql-http's audits, graphql-js, GraphiQL in chromium) is in
test_graphql_tools.py; the jobs schema in test_graphql_jobs.py."""

import json
import urllib.parse
import unittest

import harness
from harness import assert_json, assert_problem, call
from test_auth import bearer, register

PATH = "/graphql"
GQL_MEDIA = "application/graphql-response+json"


def gql(query, variables=None, token=None, accept=None, operation=None, base=None,
        headers=None, extra=None):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation is not None:
        body["operationName"] = operation
    if extra:
        body.update(extra)
    h = dict(headers or {})
    if token:
        h.update(bearer(token))
    if accept:
        h["Accept"] = accept
    return call("POST", PATH, body=body, headers=h, base=base)


def gql_get(params, token=None, accept=None):
    h = {}
    if token:
        h.update(bearer(token))
    if accept:
        h["Accept"] = accept
    return call("GET", PATH + "?" + urllib.parse.urlencode(params), headers=h)


def result(r, status=200):
    """The GraphQL response of r (asserting the status and a JSON media type)."""
    if r.status != status:
        raise AssertionError("HTTP %d, wanted %d: %s" % (r.status, status, r.text[:500]))
    ct = r.headers.get("content-type", "")
    if not (ct.startswith("application/json") or ct.startswith(GQL_MEDIA)):
        raise AssertionError("content type %r: %s" % (ct, r.text[:300]))
    return r.json()


def codes(res):
    return [e.get("extensions", {}).get("code") for e in res.get("errors", [])]


class UserFixture:
    """One account for the module (registration through the API, OTP from the mail)."""
    _user = None

    @classmethod
    def user(cls):
        if UserFixture._user is None:
            email, tokens = register()
            UserFixture._user = (email, tokens["access_token"])
        return UserFixture._user


class TransportTest(unittest.TestCase):
    def test_post_answers_application_json(self):
        r = gql("{ __typename }")
        self.assertEqual(result(r), {"data": {"__typename": "Query"}})
        self.assertTrue(r.headers["content-type"].startswith("application/json"))
        self.assertEqual(r.headers.get("cache-control"), "no-store")

    def test_graphql_response_json_when_asked(self):
        for accept in (GQL_MEDIA, GQL_MEDIA + ", application/json;q=0.9",
                       "application/json;q=0.5, " + GQL_MEDIA):
            with self.subTest(accept=accept):
                r = gql("{ __typename }", accept=accept)
                self.assertEqual(result(r)["data"], {"__typename": "Query"})
                self.assertTrue(r.headers["content-type"].startswith(GQL_MEDIA), r.headers)
        for accept in ("application/json", "*/*", "application/*", "",
                       GQL_MEDIA + ";q=0.1, application/json"):
            with self.subTest(accept=accept):
                r = gql("{ __typename }", accept=accept or None)
                result(r)
                self.assertTrue(r.headers["content-type"].startswith("application/json"))

    def test_unacceptable_accept_is_406(self):
        r = gql("{ __typename }", accept="text/html")
        assert_problem(r, 406, "not_acceptable")

    def test_get_runs_queries_with_variables(self):
        r = gql_get({"query": "query T($n: String!) { __type(name: $n) { name kind } }",
                     "variables": json.dumps({"n": "User"}), "operationName": "T"})
        self.assertEqual(result(r)["data"], {"__type": {"name": "User", "kind": "OBJECT"}})

    def test_get_refuses_mutations(self):
        for accept in (None, GQL_MEDIA):
            r = gql_get({"query": "mutation { __typename }"}, accept=accept)
            self.assertEqual(r.status, 405, r.text)
            self.assertEqual(r.headers.get("allow"), "POST")
            self.assertEqual(codes(r.json()), ["METHOD_NOT_ALLOWED"])
            self.assertNotIn("data", r.json())

    def test_get_bad_parameters_are_400(self):
        assert_problem(gql_get({}), 400, "invalid_graphql_request")
        assert_problem(gql_get({"query": "{ __typename }", "variables": "[1]"}), 400,
                       "invalid_graphql_request")
        assert_problem(gql_get({"query": "{ __typename }", "variables": "{"}), 400,
                       "invalid_graphql_request")

    def test_unknown_member_is_422_like_every_endpoint(self):
        p = assert_problem(gql("{ __typename }", extra={"qeury": "x"}), 422, "unknown_field")
        self.assertIn("qeury", harness.problem_fields(p))

    def test_mistyped_or_missing_parameters_are_400(self):
        for body in ({}, {"query": 1}, {"query": ["{ __typename }"]},
                     {"query": "{ __typename }", "variables": "x"},
                     {"query": "{ __typename }", "variables": [1]},
                     {"query": "{ __typename }", "operationName": 3},
                     {"query": "{ __typename }", "extensions": "x"}):
            with self.subTest(body=body):
                p = assert_problem(call("POST", PATH, body=body), 400, "invalid_graphql_request")
                self.assertTrue(harness.problem_fields(p), p)

    def test_nulls_are_allowed_where_the_spec_allows_them(self):
        r = call("POST", PATH, body={"query": "{ __typename }", "variables": None,
                                     "operationName": None, "extensions": None})
        self.assertEqual(result(r), {"data": {"__typename": "Query"}})

    def test_malformed_json_and_wrong_media_type(self):
        r = call("POST", PATH, raw=b'{"query": ', headers={"Content-Type": "application/json"})
        assert_problem(r, 400, "malformed_json")
        r = call("POST", PATH, raw=b"{ __typename }",
                 headers={"Content-Type": "application/graphql"})
        assert_problem(r, 415, "unsupported_media_type")
        r = call("POST", PATH, raw=b"[]", headers={"Content-Type": "application/json"})
        assert_problem(r, 422, "validation_failed")

    def test_body_over_the_route_limit_is_413(self):
        r = call("POST", PATH, body={"query": "{ __typename }" + " " * (300 * 1024)})
        assert_problem(r, 413, "body_too_large")

    def test_request_errors_are_200_as_json_and_400_as_graphql_response(self):
        for q in ("{", "{ nope }"):
            with self.subTest(q=q):
                res = result(gql(q))
                self.assertNotIn("data", res)
                res = result(gql(q, accept=GQL_MEDIA), 400)
                self.assertNotIn("data", res)
                self.assertIn(codes(res)[0], ("GRAPHQL_PARSE_FAILED",
                                              "GRAPHQL_VALIDATION_FAILED"))

    def test_utf8_in_documents(self):
        r = gql('{ __type(name: "Run\U0001F3C3Swim\U0001F3CA") { name } }')
        self.assertEqual(result(r), {"data": {"__type": None}})
        r = gql('{ a: __type(name: "\\u0055ser") { name } b: __type(name: "\\u{55}ser") { name } }')
        self.assertEqual(result(r)["data"], {"a": {"name": "User"}, "b": {"name": "User"}})


class AuthenticationTest(unittest.TestCase):
    def test_typename_and_introspection_need_no_token(self):
        self.assertEqual(result(gql("{ __typename }"))["data"], {"__typename": "Query"})
        res = result(gql("{ __schema { queryType { name } } }"))
        self.assertEqual(res["data"]["__schema"]["queryType"]["name"], "Query")
        self.assertNotIn("errors", res)

    def test_me_without_token_is_unauthenticated_per_field(self):
        res = result(gql("{ kind: __typename me { email } }", accept=GQL_MEDIA))
        self.assertEqual(res["data"], {"kind": "Query", "me": None})
        self.assertEqual(len(res["errors"]), 1)
        e = res["errors"][0]
        self.assertEqual(e["extensions"]["code"], "UNAUTHENTICATED")
        self.assertEqual(e["path"], ["me"])
        self.assertEqual(e["locations"], [{"line": 1, "column": 20}])
        self.assertIn("access token", e["message"])

    def test_bad_tokens_are_unauthenticated(self):
        email, tok = UserFixture.user()
        header, payload, sig = tok.split(".")
        for token in ("garbage", tok[:-4] + "AAAA", header + "." + payload + "."):
            with self.subTest(token=token[:12]):
                res = result(gql("{ me { email } }", token=token))
                self.assertEqual(res["data"], {"me": None})
                self.assertEqual(codes(res), ["UNAUTHENTICATED"])
                self.assertIn("not valid", res["errors"][0]["message"])

    def test_revoked_token_is_unauthenticated(self):
        _, tokens = register()
        tok = tokens["access_token"]
        self.assertEqual(result(gql("{ me { id } }", token=tok))["data"]["me"]["id"],
                         tokens["user"]["id"])
        self.assertEqual(call("POST", "/auth/logout", headers=bearer(tok)).status, 204)
        res = result(gql("{ me { id } }", token=tok))
        self.assertEqual(codes(res), ["UNAUTHENTICATED"])

    def test_me_is_what_rest_returns(self):
        email, tok = UserFixture.user()
        rest = assert_json(call("GET", "/auth/me", headers=bearer(tok)), 200)
        res = result(gql("""{ me { id email firstName lastName role accountType
                                   emailVerified loginOtp createdAt updatedAt } }""", token=tok))
        self.assertNotIn("errors", res)
        me = res["data"]["me"]
        self.assertEqual(me, {
            "id": rest["id"], "email": rest["email"], "firstName": rest["first_name"],
            "lastName": rest["last_name"], "role": rest["role"].upper(),
            "accountType": rest["account_type"].upper(),
            "emailVerified": rest["email_verified"], "loginOtp": rest["login_otp"],
            "createdAt": rest["created_at"], "updatedAt": rest["updated_at"]})
        self.assertEqual(me["email"], email)

    def test_older_clients_token_header(self):
        email, tok = UserFixture.user()
        res = result(gql("{ me { email } }", headers={"x-access-token": tok}))
        self.assertEqual(res["data"]["me"]["email"], email)


class LanguageTest(unittest.TestCase):
    def setUp(self):
        self.email, self.token = UserFixture.user()

    def q(self, query, **kw):
        return result(gql(query, token=self.token, **kw))

    def test_aliases_fragments_and_typename(self):
        res = self.q("""
            query Who { who: me { ...Names ... on User { mail: email } __typename }
                        again: me { id } }
            fragment Names on User { firstName lastName }""")
        self.assertNotIn("errors", res)
        who = res["data"]["who"]
        self.assertEqual(list(who), ["firstName", "lastName", "mail", "__typename"])
        self.assertEqual(who["mail"], self.email)
        self.assertEqual(who["__typename"], "User")
        self.assertEqual(list(res["data"]), ["who", "again"])

    def test_skip_and_include_with_variables_and_defaults(self):
        query = """query ($hide: Boolean = false, $show: Boolean!) {
            me { email @skip(if: $hide) id @include(if: $show) ...F @include(if: false) }
        } fragment F on User { role }"""
        self.assertEqual(self.q(query, variables={"show": True})["data"]["me"],
                         {"email": self.email, "id": self.q("{ me { id } }")["data"]["me"]["id"]})
        me = self.q(query, variables={"hide": True, "show": False})["data"]["me"]
        self.assertEqual(me, {})

    def test_operation_name_picks_the_operation(self):
        doc = "query A { a: __typename } query B { b: __typename }"
        self.assertEqual(self.q(doc, operation="B")["data"], {"b": "Query"})
        res = self.q(doc)
        self.assertNotIn("data", res)
        self.assertEqual(codes(res), ["BAD_REQUEST"])
        self.assertEqual(codes(self.q(doc, operation="C")), ["BAD_REQUEST"])

    def test_variable_coercion_errors_are_bad_user_input(self):
        query = "query ($n: String!) { __type(name: $n) { name } }"
        for variables in ({}, {"n": None}, {"n": 5}, {"n": ["User", "x"]}):
            with self.subTest(variables=variables):
                res = self.q(query, variables=variables)
                self.assertNotIn("data", res)
                self.assertEqual(codes(res), ["BAD_USER_INPUT"])
                self.assertEqual(res["errors"][0]["locations"], [{"line": 1, "column": 8}])
        res = result(gql(query, variables={"n": None}, accept=GQL_MEDIA), 400)
        self.assertEqual(codes(res), ["BAD_USER_INPUT"])

    def test_syntax_error_says_where(self):
        res = self.q("{\n  me {\n    email\n  ")
        self.assertEqual(codes(res), ["GRAPHQL_PARSE_FAILED"])
        self.assertEqual(res["errors"][0]["locations"], [{"line": 4, "column": 3}])
        self.assertIn("Expected Name, found <EOF>", res["errors"][0]["message"])

    def test_every_validation_error_is_reported(self):
        res = self.q("{ nope me { alsoNope } __type { name } }")
        self.assertNotIn("data", res)
        self.assertEqual(set(codes(res)), {"GRAPHQL_VALIDATION_FAILED"})
        self.assertEqual(len(res["errors"]), 3, res)
        for e in res["errors"]:
            self.assertTrue(e["locations"], e)
            self.assertNotIn("path", e)

    def test_partial_results(self):
        res = result(gql("{ a: __typename me { email } b: __typename }"))
        self.assertEqual(res["data"], {"a": "Query", "me": None, "b": "Query"})
        self.assertEqual(list(res), ["errors", "data"])

    def test_introspection_types_descriptions_deprecation(self):
        res = self.q("""{ __type(name: "__Type") { name kind
            fields(includeDeprecated: true) { name isDeprecated deprecationReason
            args { name defaultValue type { kind ofType { name } } } } } }""")
        t = res["data"]["__type"]
        self.assertEqual(t["kind"], "OBJECT")
        fields = {f["name"]: f for f in t["fields"]}
        self.assertEqual(fields["fields"]["args"],
                         [{"name": "includeDeprecated", "defaultValue": "false",
                           "type": {"kind": "SCALAR", "ofType": None}}])
        res = self.q('{ __schema { description directives { name locations args { name } } } }')
        dirs = {d["name"]: d for d in res["data"]["__schema"]["directives"]}
        self.assertEqual(set(dirs), {"include", "skip", "deprecated", "specifiedBy"})
        self.assertIn("FIELD", dirs["skip"]["locations"])
        self.assertTrue(res["data"]["__schema"]["description"])


class LimitsTest(unittest.TestCase):
    def test_document_size(self):
        big = "{ __typename }" + "#" * 40000
        res = result(gql(big))
        self.assertEqual(codes(res), ["DOCUMENT_TOO_LARGE"])
        self.assertNotIn("data", res)
        result(gql(big, accept=GQL_MEDIA), 400)
        self.assertEqual(result(gql("{ __typename }" + "#" * 30000))["data"],
                         {"__typename": "Query"})

    def test_depth(self):
        def nested(n):
            inner = "name"
            for _ in range(n):
                inner = "ofType { %s }" % inner
            return '{ __type(name: "User") { %s } }' % inner
        self.assertNotIn("errors", result(gql(nested(13))))   # 15 levels
        res = result(gql(nested(14)))                          # 16 levels
        self.assertEqual(codes(res), ["DEPTH_LIMIT_EXCEEDED"])
        self.assertIn("16", res["errors"][0]["message"])
        # through fragments too: __type, A's ofType, then B's 13 ofType and name = 16
        inner = "name"
        for _ in range(13):
            inner = "ofType { %s }" % inner
        res = result(gql('{ __type(name: "User") { ...A } } '
                         'fragment A on __Type { ofType { ...B } } '
                         'fragment B on __Type { %s }' % inner))
        self.assertEqual(codes(res), ["DEPTH_LIMIT_EXCEEDED"])

    def test_aliases(self):
        ok = "{ %s }" % " ".join("a%d: __typename" % i for i in range(30))
        self.assertNotIn("errors", result(gql(ok)))
        res = result(gql("{ %s }" % " ".join("a%d: __typename" % i for i in range(31))))
        self.assertEqual(codes(res), ["ALIAS_LIMIT_EXCEEDED"])
        # fragments are expanded: 8 aliases spread 4 times
        frag = "fragment F on Query { %s }" % " ".join("b%d: __typename" % i for i in range(8))
        res = result(gql("query X { ...F ... on Query { ...F } x: __schema { queryType { name } } } "
                         "query Y { ...F ...F } " + frag, operation="Y"))
        self.assertNotIn("errors", res)   # 16 aliases (the same ones merge, but count)
        res = result(gql("{ ...F a: __type(name: \"A\") { ...G } } fragment G on __Type { ...H } "
                         "fragment H on __Type { %s } %s" % (
                             " ".join("h%d: name" % i for i in range(23)), frag)))
        self.assertEqual(codes(res), ["ALIAS_LIMIT_EXCEEDED"])

    def test_cost(self):
        # Each level spreads the one below twice: 2^13 fields, all merging into one.
        frags = ["fragment F0 on Query { __typename }"]
        for i in range(1, 14):
            frags.append("fragment F%d on Query { ...F%d ...F%d }" % (i, i - 1, i - 1))
        res = result(gql("{ ...F13 } " + " ".join(frags)))
        self.assertEqual(codes(res), ["COST_LIMIT_EXCEEDED"])
        self.assertNotIn("data", res)
        res = result(gql("{ ...F10 } " + " ".join(frags[:11])))
        self.assertEqual(res, {"data": {"__typename": "Query"}})


class IntrospectionSwitchTest(unittest.TestCase):
    """MEDRIN_GRAPHQL_INTROSPECTION=0 on pool 2 only (its env file, re-read on SIGHUP)."""
    POOL = 2

    @classmethod
    def setUpClass(cls):
        if harness.pool_count() < cls.POOL:
            raise unittest.SkipTest("needs MEDRIN_POOLS=2")
        cls.base = harness.pool_urls()[cls.POOL - 1]
        cls.old = harness.reload_pool(cls.POOL, "MEDRIN_GRAPHQL_INTROSPECTION=0\n")

    @classmethod
    def tearDownClass(cls):
        harness.reload_pool(cls.POOL, "MEDRIN_GRAPHQL_INTROSPECTION=1\n")
        harness.write_pool_env(cls.POOL, cls.old)

    def test_introspection_is_refused(self):
        for q in ("{ __schema { queryType { name } } }", '{ __type(name: "User") { name } }',
                  "{ ... on Query { __schema { types { name } } } }"):
            with self.subTest(q=q):
                res = result(gql(q, base=self.base))
                self.assertNotIn("data", res)
                self.assertEqual(codes(res), ["INTROSPECTION_DISABLED"])

    def test_typename_still_works(self):
        self.assertEqual(result(gql("{ __typename }", base=self.base))["data"],
                         {"__typename": "Query"})

    def test_the_other_pool_still_answers_it(self):
        res = result(gql("{ __schema { queryType { name } } }", base=harness.pool_urls()[0]))
        self.assertEqual(res["data"]["__schema"]["queryType"]["name"], "Query")


if __name__ == "__main__":
    unittest.main()
