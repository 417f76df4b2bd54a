"""GraphQL over the jobs domain (lib/api/graphql_schema.c; user(id) and the resumes at the
end): the same data as REST for the
same rows (queries with variables, fragments, aliases and directives against GET /jobs,
/jobs/{id}, /jobs/{id}/notes, /jobs/stats), mutations that REST then sees, REST's input
rules (the same fields refused, nothing written), another user's objects NOT_FOUND for
every field and mutation (nothing changed), no token UNAUTHENTICATED (nothing written),
and a page of jobs with their notes loaded with one notes statement (PostgreSQL's
statement log)."""

import os
import re
import unittest
import urllib.parse
import uuid

import harness
from harness import assert_json, call, psql, wait_until
from test_auth import bearer, register
from test_graphql import codes, gql, result

JOB_FIELDS = """fragment J on Job { id companyName position status appliedOn url location
                description salary { min max currency period } createdAt updatedAt }"""
NOTE_FIELDS = "fragment N on Note { id jobId content reminderTime remindedAt createdAt updatedAt }"


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def as_graphql(obj, enums=("status", "period")):
    """A REST object as the GraphQL API spells it: camelCase keys, enum values upper."""
    if isinstance(obj, list):
        return [as_graphql(x, enums) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in enums and isinstance(v, str):
            v = v.upper()
        out[camel(k)] = as_graphql(v, enums)
    return out


class JobsGraphqlCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, tokens = register()
        cls.token = tokens["access_token"]
        cls.h = bearer(cls.token)
        cls.uid = tokens["user"]["id"]
        _, other = register()
        cls.other_token = other["access_token"]
        cls.other_h = bearer(cls.other_token)

    def rest_job(self, headers=None, **over):
        body = {"company_name": "Acme", "position": "Engineer", "status": "applied",
                "applied_on": "2026-11-02"}
        body.update(over)
        return assert_json(call("POST", "/jobs", body=body, headers=headers or self.h), 201)

    def rest_note(self, job_id, content, headers=None, **over):
        body = {"content": content}
        body.update(over)
        return assert_json(call("POST", "/jobs/%s/notes" % job_id, body=body,
                                headers=headers or self.h), 201)

    def q(self, query, variables=None, token=None, **kw):
        return result(gql(query, variables=variables, token=token or self.token, **kw))

    def count_jobs(self, uid):
        return int(psql("SELECT count(*) FROM jobs WHERE user_id = '%s'" % uid)[0][0])


class ReadsLikeRestTest(JobsGraphqlCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jobs = []
        for i, (status, day) in enumerate([("applied", "2026-11-03"), ("offer", "2026-11-01"),
                                           ("applied", "2026-11-05"), ("wishlist", "2026-10-30")]):
            extra = {"salary": {"min": 50000 + i, "max": 70000, "currency": "EUR"}} if i == 1 else {}
            j = cls.rest_job(cls, company_name="Co %d" % i, status=status, applied_on=day,
                             url="https://co%d.example/job" % i, **extra)
            cls.jobs.append(j)
        cls.notes = [cls.rest_note(cls, cls.jobs[0]["id"], "first"),
                     cls.rest_note(cls, cls.jobs[0]["id"], "second",
                                   reminder_time="2030-01-02T03:04:05Z"),
                     cls.rest_note(cls, cls.jobs[2]["id"], "only")]

    def test_jobs_page_with_variables_fragments_aliases_directives(self):
        query = """query Page($status: JobStatus, $sort: JobSort = APPLIED_ON_DESC, $n: Int!,
                              $withNotes: Boolean!, $skipStats: Boolean = false) {
            page: jobs(status: $status, sort: $sort, first: $n) {
                nodes { ...J notes @include(if: $withNotes) { ...N } }
                pageInfo { hasNextPage endCursor }
            }
            stats: jobStats @skip(if: $skipStats) { total byStatus { ...Counts } }
        }
        fragment Counts on JobStatusCounts { wishlist applied interviewing offer accepted
                                             rejected withdrawn }
        """ + JOB_FIELDS + NOTE_FIELDS
        res = self.q(query, {"status": "APPLIED", "n": 1, "withNotes": True})
        self.assertNotIn("errors", res)
        rest = assert_json(call("GET", "/jobs?status=applied&sort=-applied_on&limit=1",
                                headers=self.h), 200)
        page = res["data"]["page"]
        nodes = [dict(n) for n in page["nodes"]]
        notes = [n.pop("notes") for n in nodes]
        self.assertEqual(nodes, as_graphql(rest["items"]))
        self.assertEqual(page["pageInfo"], {"hasNextPage": rest["next_cursor"] is not None,
                                            "endCursor": rest["next_cursor"]})
        for job, job_notes in zip(rest["items"], notes):
            rn = assert_json(call("GET", "/jobs/%s/notes" % job["id"], headers=self.h), 200)
            self.assertEqual(job_notes, as_graphql(rn["items"]))
        stats = assert_json(call("GET", "/jobs/stats", headers=self.h), 200)
        self.assertEqual(res["data"]["stats"], {"total": stats["total"],
                                                "byStatus": stats["by_status"]})
        # the second page through the cursor, without notes and without stats
        res2 = self.q(query, {"status": "APPLIED", "n": 1, "withNotes": False,
                              "skipStats": True})
        self.assertEqual(list(res2["data"]), ["page"])
        self.assertNotIn("notes", res2["data"]["page"]["nodes"][0])
        after = page["pageInfo"]["endCursor"]
        res3 = self.q("query($a: String) { jobs(status: APPLIED, sort: APPLIED_ON_DESC, first: 1,"
                      " after: $a) { nodes { id } pageInfo { hasNextPage } } }", {"a": after})
        rest3 = assert_json(call("GET", "/jobs?status=applied&sort=-applied_on&limit=1&cursor="
                                 + after, headers=self.h), 200)
        self.assertEqual([n["id"] for n in res3["data"]["jobs"]["nodes"]],
                         [j["id"] for j in rest3["items"]])

    def test_every_sort_and_the_search_match_rest(self):
        for sort, rest_sort in (("CREATED_AT_DESC", "-created_at"), ("CREATED_AT", "created_at"),
                                ("APPLIED_ON", "applied_on"), ("APPLIED_ON_DESC", "-applied_on")):
            with self.subTest(sort=sort):
                res = self.q("query($s: JobSort) { jobs(sort: $s) { nodes { id } } }", {"s": sort})
                rest = assert_json(call("GET", "/jobs?sort=" + rest_sort, headers=self.h), 200)
                self.assertEqual([n["id"] for n in res["data"]["jobs"]["nodes"]],
                                 [j["id"] for j in rest["items"]])
        res = self.q('{ jobs(q: "co 2") { nodes { companyName } } }')
        self.assertEqual(res["data"]["jobs"]["nodes"], [{"companyName": "Co 2"}])

    def test_job_and_job_notes_are_rest_objects(self):
        j = self.jobs[1]
        res = self.q("query($id: ID!) { job(id: $id) { ...J } } " + JOB_FIELDS, {"id": j["id"]})
        rest = assert_json(call("GET", "/jobs/" + j["id"], headers=self.h), 200)
        self.assertEqual(res["data"]["job"], as_graphql(rest))
        self.assertEqual(res["data"]["job"]["salary"]["min"], 50001)
        jid = self.jobs[0]["id"]
        res = self.q("query($id: ID!) { a: jobNotes(jobId: $id, first: 1) { nodes { ...N } "
                     "pageInfo { endCursor } } } " + NOTE_FIELDS, {"id": jid})
        rest = assert_json(call("GET", "/jobs/%s/notes?limit=1" % jid, headers=self.h), 200)
        self.assertEqual(res["data"]["a"]["nodes"], as_graphql(rest["items"]))
        self.assertEqual(res["data"]["a"]["pageInfo"]["endCursor"], rest["next_cursor"])
        res = self.q('{ jobNotes(jobId: "%s", after: "%s") { nodes { content } } }'
                     % (jid, rest["next_cursor"]))
        self.assertEqual(res["data"]["jobNotes"]["nodes"], [{"content": "second"}])

    def test_bad_arguments_are_bad_user_input(self):
        for q, field in (("{ jobs(first: 0) { nodes { id } } }", "first"),
                         ("{ jobs(first: 101) { nodes { id } } }", "first"),
                         ('{ jobs(after: "garbage") { nodes { id } } }', "after"),
                         ('{ jobs(q: "%s") { nodes { id } } }' % ("x" * 201), "q"),
                         ('{ jobs(q: "a\\nb") { nodes { id } } }', "q")):
            with self.subTest(q=q[:40]):
                res = self.q(q)
                self.assertEqual(res["data"], {"jobs": None})
                self.assertEqual(codes(res), ["BAD_USER_INPUT"])
                ext = res["errors"][0]["extensions"]
                self.assertEqual(ext.get("field", (ext.get("errors") or [{}])[0].get("field")),
                                 field)
        res = self.q("{ jobs(status: HIRED) { nodes { id } } }")
        self.assertEqual(codes(res), ["GRAPHQL_VALIDATION_FAILED"])


class MutationsLikeRestTest(JobsGraphqlCase):
    def test_create_update_delete_job_as_rest_sees_them(self):
        res = self.q("""mutation($in: JobInput!) { createJob(input: $in) { ...J } } """ + JOB_FIELDS,
                     {"in": {"companyName": "Initech", "position": "Dev", "status": "INTERVIEWING",
                             "appliedOn": "2026-11-10", "location": "Paris",
                             "salary": {"min": 40000, "max": 60000, "currency": "EUR",
                                        "period": "MONTH"}}})
        self.assertNotIn("errors", res)
        job = res["data"]["createJob"]
        rest = assert_json(call("GET", "/jobs/" + job["id"], headers=self.h), 200)
        self.assertEqual(job, as_graphql(rest))
        self.assertEqual(rest["salary"], {"min": 40000, "max": 60000, "currency": "EUR",
                                          "period": "month"})
        res = self.q('mutation { updateJob(id: "%s", input: {status: OFFER, location: null}) '
                     '{ ...J } } ' % job["id"] + JOB_FIELDS)
        rest = assert_json(call("GET", "/jobs/" + job["id"], headers=self.h), 200)
        self.assertEqual(res["data"]["updateJob"], as_graphql(rest))
        self.assertEqual((rest["status"], rest["location"], rest["company_name"]),
                         ("offer", None, "Initech"))
        res = self.q('mutation { deleteJob(id: "%s") }' % job["id"])
        self.assertEqual(res, {"data": {"deleteJob": True}})
        self.assertEqual(call("GET", "/jobs/" + job["id"], headers=self.h).status, 404)

    def test_notes_mutations_as_rest_sees_them(self):
        job = self.rest_job()
        res = self.q("""mutation($j: ID!) {
            a: createNote(jobId: $j, input: {content: "call back", reminderTime: "2030-05-01T09:00:00+02:00"}) { ...N }
            b: createNote(jobId: $j, input: {content: "second"}) { id } } """ + NOTE_FIELDS,
                     {"j": job["id"]})
        self.assertNotIn("errors", res)
        a = res["data"]["a"]
        rest = assert_json(call("GET", "/jobs/%s/notes" % job["id"], headers=self.h), 200)
        self.assertEqual([n["id"] for n in rest["items"]], [a["id"], res["data"]["b"]["id"]])
        self.assertEqual(a, as_graphql(rest["items"][0]))
        self.assertEqual(a["reminderTime"], "2030-05-01T07:00:00Z")
        tasks = psql("SELECT count(*) FROM tasks WHERE kind = 'reminder' AND status = 'queued' "
                     "AND payload::text LIKE '%%%s%%'" % a["id"])
        self.assertEqual(tasks[0][0], "1")
        res = self.q('mutation { updateNote(id: "%s", input: {reminderTime: null}) '
                     '{ content reminderTime } }' % a["id"])
        self.assertEqual(res["data"]["updateNote"], {"content": "call back", "reminderTime": None})
        res = self.q('mutation { deleteNote(id: "%s") }' % a["id"])
        self.assertEqual(res, {"data": {"deleteNote": True}})
        rest = assert_json(call("GET", "/jobs/%s/notes" % job["id"], headers=self.h), 200)
        self.assertEqual([n["content"] for n in rest["items"]], ["second"])

    def test_invalid_input_is_refused_like_rest_and_writes_nothing(self):
        before = self.count_jobs(self.uid)
        bad_rest = {"company_name": "", "position": "x" * 201, "status": "applied",
                    "applied_on": "2026-02-30", "url": "ftp://nope",
                    "salary": {"currency": "euro"}}
        rest = call("POST", "/jobs", body=bad_rest, headers=self.h)
        self.assertEqual(rest.status, 422)
        rest_fields = {e["field"] for e in rest.json()["errors"]}
        res = self.q("mutation($in: JobInput!) { createJob(input: $in) { id } }",
                     {"in": {"companyName": "", "position": "x" * 201, "status": "APPLIED",
                             "appliedOn": "2026-02-30", "url": "ftp://nope",
                             "salary": {"currency": "euro"}}})
        self.assertEqual(res["data"], None)
        self.assertEqual(codes(res), ["BAD_USER_INPUT"])
        gql_fields = {e["field"] for e in res["errors"][0]["extensions"]["errors"]}
        self.assertEqual(gql_fields, {"input." + camel(f) for f in rest_fields})
        self.assertEqual(res["errors"][0]["path"], ["createJob"])
        self.assertEqual(self.count_jobs(self.uid), before)
        # GraphQL's own type rules run first: a wrong enum or a missing field
        for v in ({"companyName": "a", "position": "b", "status": "HIRED", "appliedOn": "2026-01-01"},
                  {"companyName": "a", "status": "APPLIED", "appliedOn": "2026-01-01"},
                  {"companyName": "a", "position": "b", "status": "APPLIED",
                   "appliedOn": "2026-01-01", "colour": "red"}):
            res = self.q("mutation($in: JobInput!) { createJob(input: $in) { id } }", {"in": v})
            self.assertEqual(codes(res), ["BAD_USER_INPUT"])
            self.assertNotIn("data", res)
        job = self.rest_job()
        res = self.q('mutation { createNote(jobId: "%s", input: {content: "x", '
                     'reminderTime: "tomorrow"}) { id } }' % job["id"])
        self.assertEqual(res["errors"][0]["extensions"]["errors"],
                         [{"field": "input.reminderTime",
                           "message": "must be an RFC 3339 date-time with an offset "
                                      "(2026-12-01T09:00:00Z)"}])
        self.assertEqual(psql("SELECT count(*) FROM notes WHERE job_id = '%s'" % job["id"])[0][0],
                         "0")

    def test_mutations_run_in_order(self):
        job = self.rest_job()
        res = self.q('mutation { a: updateJob(id: "%s", input: {position: "one"}) { position } '
                     'b: updateJob(id: "%s", input: {position: "two"}) { position } }'
                     % (job["id"], job["id"]))
        self.assertEqual(res["data"], {"a": {"position": "one"}, "b": {"position": "two"}})
        self.assertEqual(assert_json(call("GET", "/jobs/" + job["id"], headers=self.h),
                                     200)["position"], "two")


class OwnershipAndAuthTest(JobsGraphqlCase):
    def test_another_users_job_is_not_found_everywhere(self):
        mine = self.rest_job(company_name="Mine")
        note = self.rest_note(mine["id"], "secret")
        jid, nid = mine["id"], note["id"]
        other = self.other_token
        for q in ('{ job(id: "%s") { id } }' % jid,
                  '{ jobNotes(jobId: "%s") { nodes { content } } }' % jid,
                  'mutation { updateJob(id: "%s", input: {position: "x"}) { id } }' % jid,
                  'mutation { deleteJob(id: "%s") }' % jid,
                  'mutation { createNote(jobId: "%s", input: {content: "x"}) { id } }' % jid,
                  'mutation { updateNote(id: "%s", input: {content: "x"}) { id } }' % nid,
                  'mutation { deleteNote(id: "%s") }' % nid,
                  '{ job(id: "not-a-uuid") { id } }',
                  'mutation { deleteJob(id: "%s") }' % uuid.uuid4()):
            with self.subTest(q=q[:50]):
                res = self.q(q, token=other)
                self.assertEqual(codes(res), ["NOT_FOUND"], res)
                self.assertNotIn(jid, str(res["data"]))
        res = self.q("{ jobs { nodes { id } } }", token=other)
        self.assertNotIn(jid, [n["id"] for n in res["data"]["jobs"]["nodes"]])
        after = assert_json(call("GET", "/jobs/" + jid, headers=self.h), 200)
        self.assertEqual(after, mine)
        notes = assert_json(call("GET", "/jobs/%s/notes" % jid, headers=self.h), 200)
        self.assertEqual([n["content"] for n in notes["items"]], ["secret"])

    def test_no_token_is_unauthenticated_and_writes_nothing(self):
        before = int(psql("SELECT count(*) FROM jobs")[0][0])
        for q in ("{ jobs { nodes { id } } }", '{ job(id: "%s") { id } }' % uuid.uuid4(),
                  "{ jobStats { total } }", '{ jobNotes(jobId: "%s") { nodes { id } } }' % uuid.uuid4(),
                  'mutation { createJob(input: {companyName: "a", position: "b", status: APPLIED, '
                  'appliedOn: "2026-01-01"}) { id } }'):
            with self.subTest(q=q[:30]):
                res = result(gql(q))
                self.assertEqual(codes(res), ["UNAUTHENTICATED"])
                res = result(gql(q, token="not-a-token"))
                self.assertEqual(codes(res), ["UNAUTHENTICATED"])
        self.assertEqual(int(psql("SELECT count(*) FROM jobs")[0][0]), before)

    def test_mutation_over_get_is_405_and_writes_nothing(self):
        before = self.count_jobs(self.uid)
        q = ('mutation { createJob(input: {companyName: "a", position: "b", status: APPLIED, '
             'appliedOn: "2026-01-01"}) { id } }')
        r = call("GET", "/graphql?" + urllib.parse.urlencode({"query": q}), headers=self.h)
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers.get("allow"), "POST")
        self.assertEqual(self.count_jobs(self.uid), before)


class UsersAndResumesTest(JobsGraphqlCase):
    """user(id), resumes and resume(id): the same views and objects as REST."""
    USER = "{ id email firstName lastName role accountType emailVerified loginOtp pendingEmail createdAt updatedAt }"

    def test_user_is_rest_s_view(self):
        for token, h in ((self.token, self.h), (self.other_token, self.other_h)):
            with self.subTest(own=token is self.token):
                res = self.q('query($id: ID!) { user(id: $id) %s }' % self.USER, {"id": self.uid},
                             token=token)
                rest = assert_json(call("GET", "/users/" + self.uid, headers=h), 200)
                want = {k: None for k in ("email", "role", "emailVerified", "loginOtp",
                                          "pendingEmail", "updatedAt")}
                want.update(as_graphql(rest, enums=("role", "account_type")))
                self.assertEqual(res["data"]["user"], want)
        # another user sees the public view only
        self.assertIsNone(self.q('{ user(id: "%s") { email } }' % self.uid,
                                 token=self.other_token)["data"]["user"]["email"])
        for bad in ("not-a-uuid", str(uuid.uuid4())):
            self.assertEqual(codes(self.q('{ user(id: "%s") { id } }' % bad)), ["NOT_FOUND"])

    def test_resumes_are_rest_s(self):
        made = assert_json(call("POST", "/resumes", body={}, headers=self.h), 201)
        res = self.q("""{ resumes { id title template hasPdf createdAt updatedAt
            contact { name email phone linkedin github website }
            sections { id sectionType title position items { id title organization location
                       startDate endDate description bullets position } } } }""")
        self.assertNotIn("errors", res)
        rest = assert_json(call("GET", "/resumes", headers=self.h), 200)
        self.assertEqual(res["data"]["resumes"],
                         as_graphql(rest["items"], enums=("section_type",)))
        res = self.q('{ resume(id: "%s") { id sections { sectionType } } }' % made["id"])
        self.assertEqual(res["data"]["resume"]["id"], made["id"])
        res = self.q('{ resume(id: "%s") { id } }' % made["id"], token=self.other_token)
        self.assertEqual(codes(res), ["NOT_FOUND"])
        self.assertEqual(res["data"], {"resume": None})
        self.assertEqual(codes(result(gql("{ resumes { id } }"))), ["UNAUTHENTICATED"])


class NotesBatchTest(JobsGraphqlCase):
    """A page of 20 jobs with their notes: one notes statement, not one per job. Counted in
    PostgreSQL's own log (log_min_duration_statement=0 for the duration of the test)."""

    def setUp(self):
        self.log = os.path.join(harness.state_dir(), "log", "postgres.log")
        if not os.path.exists(self.log):
            self.skipTest("PostgreSQL is not the stack's own (no log/postgres.log)")
        psql("ALTER SYSTEM SET log_min_duration_statement = 0")
        psql("SELECT pg_reload_conf()")
        self.addCleanup(lambda: (psql("ALTER SYSTEM RESET log_min_duration_statement"),
                                 psql("SELECT pg_reload_conf()")))

    def statements_since(self, offset, name):
        with open(self.log, errors="replace") as f:
            f.seek(offset)
            text = f.read()
        return len(re.findall(r"execute %s:" % name, text))

    def test_one_notes_query_for_a_page(self):
        for i in range(20):
            j = self.rest_job(company_name="Batch %d" % i)
            self.rest_note(j["id"], "note %d" % i)
            if i % 2:
                self.rest_note(j["id"], "more %d" % i)
        marker = "medrin graphql batch %s" % uuid.uuid4().hex
        # the reload reaches every backend: a logged marker proves logging is on
        wait_until(lambda: (psql("SELECT '%s'" % marker) and
                            marker in open(self.log, errors="replace").read()), 20, 0.2,
                   "PostgreSQL does not log statements")
        offset = os.path.getsize(self.log)
        res = self.q('{ jobs(first: 20, q: "batch") { nodes { companyName notes { content } } } }')
        self.assertNotIn("errors", res)
        nodes = res["data"]["jobs"]["nodes"]
        self.assertEqual(len(nodes), 20)
        for n in nodes:
            i = int(n["companyName"].split()[1])
            want = ["note %d" % i] + (["more %d" % i] if i % 2 else [])
            self.assertEqual([x["content"] for x in n["notes"]], want)
        wait_until(lambda: self.statements_since(offset, "notes_batch") >= 1, 20, 0.2,
                   "no notes_batch statement in the log")
        self.assertEqual(self.statements_since(offset, "notes_batch"), 1)
        self.assertEqual(self.statements_since(offset, "notes_list"), 0)


if __name__ == "__main__":
    unittest.main()
