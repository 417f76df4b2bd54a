"""Job-application tracker (api.md "Job-application tracker"): CRUD round trips, keyset
pages that return every row exactly once while rows are inserted between fetches (each
sort order), filters, stats that match the rows, notes, validation that names the field
and writes nothing (checked in PostgreSQL), and another user's objects as 404 for every
verb.

Reminders (the worker side) are in test_reminders.py.
"""

import json
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, problem_fields, psql
from test_auth import bearer, register

STATUSES = ["wishlist", "applied", "interviewing", "offer", "accepted", "rejected",
            "withdrawn"]


def job_body(**over):
    body = {"company_name": "Acme", "position": "Engineer", "status": "applied",
            "applied_on": "2026-11-02"}
    body.update(over)
    return body


class JobsTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.email, tok = register()
        cls.h = bearer(tok["access_token"])
        cls.uid = tok["user"]["id"]
        cls.other_email, tok2 = register()
        cls.h2 = bearer(tok2["access_token"])
        cls.uid2 = tok2["user"]["id"]

    def create(self, headers=None, **over):
        r = call("POST", "/jobs", body=job_body(**over), headers=headers or self.h)
        return assert_json(r, 201)

    def db_job(self, job_id):
        rows = psql("SELECT company_name, position, status, applied_on::text, "
                    "coalesce(url, '<null>'), updated_at::text FROM jobs WHERE id = '%s'" % job_id)
        return rows[0] if rows else None

    def count_jobs(self, uid=None):
        return int(psql("SELECT count(*) FROM jobs WHERE user_id = '%s'" % (uid or self.uid))[0][0])


class CrudTest(JobsTestCase):
    def test_full_round_trip(self):
        r = call("POST", "/jobs", headers=self.h, body=job_body(
            company_name="Globex", position="Backend developer", url="https://globex.example/j/1",
            location="Berlin", description="Line one\nline two",
            salary={"min": 60000, "max": 80000, "currency": "EUR", "period": "year"}))
        job = assert_json(r, 201)
        self.assertEqual(r.headers["location"], "/api/v1/jobs/%s" % job["id"])
        self.assertEqual(job["salary"], {"min": 60000, "max": 80000, "currency": "EUR",
                                         "period": "year"})
        self.assertEqual(job["description"], "Line one\nline two")
        self.assertEqual(self.db_job(job["id"])[:5],
                         ["Globex", "Backend developer", "applied", "2026-11-02",
                          "https://globex.example/j/1"])

        got = assert_json(call("GET", "/jobs/" + job["id"], headers=self.h), 200)
        self.assertEqual(got, job)

        # PATCH changes only what it names; null clears an optional field
        p = assert_json(call("PATCH", "/jobs/" + job["id"], headers=self.h,
                             body={"status": "interviewing", "url": None}), 200)
        self.assertEqual(p["status"], "interviewing")
        self.assertIsNone(p["url"])
        self.assertEqual(p["location"], "Berlin")
        self.assertEqual(p["salary"]["currency"], "EUR")
        self.assertEqual(self.db_job(job["id"])[2:5], ["interviewing", "2026-11-02", "<null>"])

        # PUT replaces the whole object: absent optional fields become null
        put = assert_json(call("PUT", "/jobs/" + job["id"], headers=self.h,
                               body=job_body(company_name="Globex AG", status="offer",
                                             applied_on="2026-10-30")), 200)
        self.assertEqual((put["company_name"], put["status"], put["applied_on"]),
                         ("Globex AG", "offer", "2026-10-30"))
        self.assertIsNone(put["location"])
        self.assertIsNone(put["salary"])
        self.assertIsNone(put["description"])
        self.assertEqual(put["created_at"], job["created_at"])

        r = call("DELETE", "/jobs/" + job["id"], headers=self.h)
        self.assertEqual(r.status, 204)
        self.assertIsNone(self.db_job(job["id"]))
        assert_problem(call("GET", "/jobs/" + job["id"], headers=self.h), 404, "not_found")
        assert_problem(call("DELETE", "/jobs/" + job["id"], headers=self.h), 404, "not_found")

    def test_salary_shapes(self):
        j = self.create(salary={"max": 40, "currency": "USD", "period": "hour"})
        self.assertEqual(j["salary"], {"min": None, "max": 40, "currency": "USD",
                                       "period": "hour"})
        j = self.create(salary={"min": 1000, "currency": "GBP"})
        self.assertEqual(j["salary"]["period"], "year")  # the documented default

    def test_requires_a_token(self):
        for method, path in (("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/stats"),
                             ("GET", "/jobs/%s" % uuid.uuid4()),
                             ("PATCH", "/notes/%s" % uuid.uuid4())):
            r = call(method, path, body={} if method != "GET" else None)
            assert_problem(r, 401)

    def test_deleting_a_job_deletes_its_notes(self):
        job = self.create()
        for i in range(3):
            assert_json(call("POST", "/jobs/%s/notes" % job["id"], headers=self.h,
                             body={"content": "note %d" % i}), 201)
        self.assertEqual(psql("SELECT count(*) FROM notes WHERE job_id = '%s'" % job["id"]),
                         [["3"]])
        self.assertEqual(call("DELETE", "/jobs/" + job["id"], headers=self.h).status, 204)
        self.assertEqual(psql("SELECT count(*) FROM notes WHERE job_id = '%s'" % job["id"]),
                         [["0"]])


class ValidationTest(JobsTestCase):
    def assert_invalid(self, method, path, body, fields, code="validation_failed"):
        before = psql("SELECT count(*), coalesce(max(updated_at)::text, '') FROM jobs "
                      "WHERE user_id = '%s'" % self.uid)
        notes_before = psql("SELECT count(*), coalesce(max(n.updated_at)::text, '') FROM notes n "
                            "JOIN jobs j ON j.id = n.job_id WHERE j.user_id = '%s'" % self.uid)
        r = call(method, path, body=body, headers=self.h)
        p = assert_problem(r, 422, code)
        for f in fields:
            self.assertIn(f, problem_fields(p), p)
        # nothing written
        self.assertEqual(psql("SELECT count(*), coalesce(max(updated_at)::text, '') FROM jobs "
                              "WHERE user_id = '%s'" % self.uid), before)
        self.assertEqual(psql("SELECT count(*), coalesce(max(n.updated_at)::text, '') FROM notes n "
                              "JOIN jobs j ON j.id = n.job_id WHERE j.user_id = '%s'" % self.uid),
                         notes_before)
        return p

    def test_create_rejects_bad_fields_and_writes_nothing(self):
        cases = [
            (job_body(status="hired"), ["status"]),
            (job_body(applied_on="2025-02-29"), ["applied_on"]),
            (job_body(applied_on="2026-13-01"), ["applied_on"]),
            (job_body(applied_on="yesterday"), ["applied_on"]),
            (job_body(applied_on=20261102), ["applied_on"]),
            (job_body(company_name=5), ["company_name"]),
            (job_body(company_name=""), ["company_name"]),
            (job_body(company_name="x" * 201), ["company_name"]),
            (job_body(company_name="Acme\r\nBcc: x"), ["company_name"]),
            (job_body(position=None), ["position"]),
            (job_body(status=["applied"]), ["status"]),
            (job_body(url="javascript:alert(1)"), ["url"]),
            (job_body(url="ftp://example.com/x"), ["url"]),
            (job_body(url="https://" + "a" * 2048), ["url"]),
            (job_body(description="d" * 10001), ["description"]),
            (job_body(salary={"min": 10}), ["salary.currency"]),
            (job_body(salary={"currency": "EUR"}), ["salary.min"]),
            (job_body(salary={"min": 9, "max": 1, "currency": "EUR"}), ["salary.max"]),
            (job_body(salary={"min": -1, "currency": "EUR"}), ["salary.min"]),
            (job_body(salary={"min": 1, "currency": "euro"}), ["salary.currency"]),
            (job_body(salary={"min": 1, "currency": "EUR", "period": "decade"}),
             ["salary.period"]),
            (job_body(salary="50k"), ["salary"]),
            ({"company_name": "A"}, ["position", "status", "applied_on"]),
        ]
        for body, fields in cases:
            with self.subTest(body=body):
                self.assert_invalid("POST", "/jobs", body, fields)

    def test_unknown_field_is_named(self):
        p = self.assert_invalid("POST", "/jobs", job_body(colour="red"), ["colour"],
                                code="unknown_field")
        self.assertEqual(problem_fields(p), ["colour"])
        p = self.assert_invalid("POST", "/jobs", job_body(salary={"min": 1, "currency": "EUR",
                                                                  "bonus": 2}),
                                ["salary.bonus"], code="unknown_field")

    def test_update_rejects_bad_fields_and_changes_nothing(self):
        job = self.create(company_name="Stable")
        path = "/jobs/" + job["id"]
        for body, fields in [({"status": "done"}, ["status"]),
                             ({"status": None}, ["status"]),
                             ({"applied_on": "2026-02-30"}, ["applied_on"]),
                             ({"company_name": 1}, ["company_name"])]:
            with self.subTest(body=body):
                self.assert_invalid("PATCH", path, body, fields)
        self.assert_invalid("PATCH", path, {"nickname": "x"}, ["nickname"], code="unknown_field")
        self.assert_invalid("PUT", path, {"company_name": "Only"},
                            ["position", "status", "applied_on"])
        self.assertEqual(self.db_job(job["id"])[0], "Stable")

    def test_malformed_json_and_huge_body(self):
        r = call("POST", "/api/v1/jobs", raw=b'{"company_name": ',
                 headers=dict(self.h, **{"Content-Type": "application/json"}))
        assert_problem(r, 400)
        r = call("POST", "/jobs", body=job_body(description="d" * 70000), headers=self.h)
        assert_problem(r, 413)
        r = call("POST", "/api/v1/jobs", raw=b"company_name=Acme",
                 headers=dict(self.h, **{"Content-Type": "application/x-www-form-urlencoded"}))
        assert_problem(r, 415)

    def test_note_validation(self):
        job = self.create()
        path = "/jobs/%s/notes" % job["id"]
        for body, fields in [({}, ["content"]),
                             ({"content": ""}, ["content"]),
                             ({"content": 7}, ["content"]),
                             ({"content": "x" * 10001}, ["content"]),
                             ({"content": "a", "reminder_time": "2026-12-01T09:00:00"},
                              ["reminder_time"]),
                             ({"content": "a", "reminder_time": "2026-02-30T09:00:00Z"},
                              ["reminder_time"]),
                             ({"content": "a", "reminder_time": "tomorrow"}, ["reminder_time"]),
                             ({"content": "a", "reminder_time": 1767225600},
                              ["reminder_time"])]:
            with self.subTest(body=body):
                self.assert_invalid("POST", path, body, fields)
        self.assert_invalid("POST", path, {"content": "a", "pinned": True}, ["pinned"],
                            code="unknown_field")
        self.assertEqual(psql("SELECT count(*) FROM tasks WHERE kind = 'reminder' AND "
                              "user_id = '%s'" % self.uid), [["0"]])

    def test_bad_query_parameters(self):
        for q, field in [("status=hired", "status"), ("sort=company", "sort"),
                         ("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                         ("cursor=garbage", "cursor"), ("q=" + "x" * 201, "q"),
                         ("q=%FF%FE", "q")]:
            with self.subTest(q=q):
                p = assert_problem(call("GET", "/jobs?" + q, headers=self.h), 422)
                self.assertIn(field, problem_fields(p))


class OwnershipTest(JobsTestCase):
    def test_other_users_job_and_note_are_404_for_every_verb(self):
        job = self.create(company_name="Mine")
        note = assert_json(call("POST", "/jobs/%s/notes" % job["id"], headers=self.h,
                                body={"content": "private"}), 201)
        jp, np_ = "/jobs/" + job["id"], "/notes/" + note["id"]
        for method, path, body in [("GET", jp, None), ("PUT", jp, job_body()),
                                   ("PATCH", jp, {"status": "offer"}), ("DELETE", jp, None),
                                   ("GET", jp + "/notes", None),
                                   ("POST", jp + "/notes", {"content": "intruder"}),
                                   ("PATCH", np_, {"content": "changed"}),
                                   ("DELETE", np_, None)]:
            with self.subTest(method=method, path=path):
                p = assert_problem(call(method, path, body=body, headers=self.h2), 404,
                                   "not_found")
                self.assertNotIn("Mine", json.dumps(p))
        self.assertEqual(self.db_job(job["id"])[:3], ["Mine", "Engineer", "applied"])
        self.assertEqual(psql("SELECT content FROM notes WHERE job_id = '%s'" % job["id"]),
                         [["private"]])
        # the other user's list and stats do not see it
        lst = assert_json(call("GET", "/jobs", headers=self.h2), 200)
        self.assertNotIn(job["id"], [j["id"] for j in lst["items"]])

    def test_bad_ids_are_404(self):
        for bad in ("abc", "1", "%27%3B--", "00000000-0000-0000-0000-00000000000g",
                    str(uuid.uuid4())):
            for method, path in (("GET", "/jobs/%s"), ("DELETE", "/jobs/%s"),
                                 ("GET", "/jobs/%s/notes"), ("DELETE", "/notes/%s")):
                with self.subTest(method=method, path=path % bad):
                    assert_problem(call(method, path % bad, headers=self.h), 404, "not_found")
            assert_problem(call("PATCH", "/notes/%s" % bad, body={"content": "x"},
                                headers=self.h), 404, "not_found")
            assert_problem(call("POST", "/jobs/%s/notes" % bad, body={"content": "x"},
                                headers=self.h), 404, "not_found")


class PagingTest(unittest.TestCase):
    """Each sort order, pages of 7, two rows inserted between every two fetches (one that
    sorts before the cursor and one after): every row that existed at the start comes back
    exactly once, in order, and no row twice."""

    @classmethod
    def setUpClass(cls):
        _, tok = register()
        cls.h = bearer(tok["access_token"])
        cls.uid = tok["user"]["id"]
        days = ["2026-01-%02d" % (1 + i % 9) for i in range(30)]  # many equal keys
        for i, d in enumerate(days):
            assert_json(call("POST", "/jobs", headers=cls.h,
                             body=job_body(company_name="Page %02d" % i, applied_on=d,
                                           status=STATUSES[i % 3])), 201)
        cls.n = 0

    def expected(self, order, where="true"):
        return [r[0] for r in psql("SELECT id FROM jobs WHERE user_id = '%s' AND %s ORDER BY %s"
                                   % (self.uid, where, order))]

    def walk(self, sort, order, extra="", where="true"):
        before = self.expected(order, where)
        seen, cursor, pages = [], None, 0
        while True:
            q = "/jobs?limit=7&sort=%s%s" % (sort, extra)
            if cursor:
                q += "&cursor=" + cursor
            page = assert_json(call("GET", q, headers=self.h), 200)
            self.assertLessEqual(len(page["items"]), 7)
            seen += [j["id"] for j in page["items"]]
            cursor = page["next_cursor"]
            pages += 1
            self.assertLess(pages, 40, "paging does not end")
            if cursor is None:
                break
            for day in ("2025-06-01", "2027-06-01"):  # before and after every key
                PagingTest.n += 1
                assert_json(call("POST", "/jobs", headers=self.h,
                                 body=job_body(company_name="Inserted %d" % self.n,
                                               applied_on=day)), 201)
        self.assertEqual(len(seen), len(set(seen)), "a row came twice")
        missing = set(before) - set(seen)
        self.assertFalse(missing, "%d rows never came" % len(missing))
        # the rows that existed keep their order
        self.assertEqual([i for i in seen if i in set(before)], before)
        return seen

    def test_created_at_descending_is_the_default(self):
        self.walk("-created_at", "created_at DESC, id DESC")
        first = assert_json(call("GET", "/jobs?limit=3", headers=self.h), 200)
        self.assertEqual([j["id"] for j in first["items"]],
                         self.expected("created_at DESC, id DESC")[:3])

    def test_created_at_ascending(self):
        self.walk("created_at", "created_at, id")

    def test_applied_on_ascending(self):
        self.walk("applied_on", "applied_on, id")

    def test_applied_on_descending(self):
        self.walk("-applied_on", "applied_on DESC, id DESC")

    def test_status_filter_pages(self):
        seen = self.walk("applied_on", "applied_on, id", extra="&status=wishlist",
                         where="status = 'wishlist'")
        ids = set(self.expected("id"))
        self.assertTrue(seen and set(seen) <= ids)
        statuses = psql("SELECT DISTINCT status FROM jobs WHERE id IN (%s)"
                        % ",".join("'%s'" % i for i in seen))
        self.assertEqual(statuses, [["wishlist"]])

    def test_cursor_of_another_sort_is_refused(self):
        page = assert_json(call("GET", "/jobs?limit=2&sort=applied_on", headers=self.h), 200)
        p = assert_problem(call("GET", "/jobs?limit=2&sort=created_at&cursor=" +
                                page["next_cursor"], headers=self.h), 422)
        self.assertEqual(problem_fields(p), ["cursor"])


class FilterAndStatsTest(JobsTestCase):
    def test_q_searches_company_and_position_case_insensitively(self):
        tag = uuid.uuid4().hex[:8]
        a = self.create(company_name="Zeta%s Labs" % tag, position="Chemist")
        b = self.create(company_name="Other", position="Senior ZETA%s engineer" % tag)
        self.create(company_name="Unrelated", position="Nothing")
        got = assert_json(call("GET", "/jobs?q=zeta" + tag, headers=self.h), 200)
        self.assertEqual(sorted(j["id"] for j in got["items"]), sorted([a["id"], b["id"]]))
        # LIKE wildcards are literal
        got = assert_json(call("GET", "/jobs?q=%25", headers=self.h), 200)
        self.assertEqual(got["items"], [])
        got = assert_json(call("GET", "/jobs?q=zeta%s&status=offer" % tag, headers=self.h), 200)
        self.assertEqual(got["items"], [])

    def test_stats_match_the_rows(self):
        _, tok = register()
        h = bearer(tok["access_token"])
        empty = assert_json(call("GET", "/jobs/stats", headers=h), 200)
        self.assertEqual(empty, {"total": 0, "by_status": {s: 0 for s in STATUSES}})
        plan = {"applied": 3, "offer": 1, "rejected": 2}
        for st, n in plan.items():
            for _ in range(n):
                assert_json(call("POST", "/jobs", headers=h, body=job_body(status=st)), 201)
        stats = assert_json(call("GET", "/jobs/stats", headers=h), 200)
        rows = dict(psql("SELECT status, count(*) FROM jobs WHERE user_id = '%s' "
                         "GROUP BY status" % tok["user"]["id"]))
        self.assertEqual(stats["by_status"], {s: int(rows.get(s, 0)) for s in STATUSES})
        self.assertEqual(stats["by_status"], {s: plan.get(s, 0) for s in STATUSES})
        self.assertEqual(stats["total"], 6)


class NotesTest(JobsTestCase):
    def test_notes_oldest_first_paginated_and_editable(self):
        job = self.create()
        path = "/jobs/%s/notes" % job["id"]
        made = []
        for i in range(5):
            r = call("POST", path, headers=self.h, body={"content": "n%d" % i})
            n = assert_json(r, 201)
            self.assertEqual(r.headers["location"], "/api/v1/notes/%s" % n["id"])
            self.assertEqual(n["job_id"], job["id"])
            made.append(n["id"])
        seen, cursor = [], None
        for _ in range(10):
            page = assert_json(call("GET", path + "?limit=2" +
                                    ("&cursor=" + cursor if cursor else ""), headers=self.h),
                               200)
            seen += [n["id"] for n in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert_json(call("POST", path, headers=self.h, body={"content": "late"}), 201)
        self.assertEqual(seen[:5], made)
        self.assertEqual(len(seen), len(set(seen)))

        p = assert_json(call("PATCH", "/notes/" + made[0], headers=self.h,
                             body={"content": "edited"}), 200)
        self.assertEqual(p["content"], "edited")
        self.assertEqual(psql("SELECT content FROM notes WHERE id = '%s'" % made[0]),
                         [["edited"]])
        self.assertEqual(call("DELETE", "/notes/" + made[1], headers=self.h).status, 204)
        self.assertEqual(psql("SELECT count(*) FROM notes WHERE id = '%s'" % made[1]), [["0"]])
        assert_problem(call("DELETE", "/notes/" + made[1], headers=self.h), 404, "not_found")

    def test_reminder_time_is_stored_as_utc(self):
        job = self.create()
        n = assert_json(call("POST", "/jobs/%s/notes" % job["id"], headers=self.h,
                             body={"content": "tz", "reminder_time": "2030-05-01T12:00:00+02:00"}),
                        201)
        self.assertEqual(n["reminder_time"], "2030-05-01T10:00:00Z")
        self.assertIsNone(n["reminded_at"])
        rows = psql("SELECT t.status, t.run_at = n.reminder_time FROM notes n JOIN tasks t ON "
                    "t.id = n.reminder_task WHERE n.id = '%s'" % n["id"])
        self.assertEqual(rows, [["queued", "t"]])
        # clearing the reminder cancels its task
        p = assert_json(call("PATCH", "/notes/" + n["id"], headers=self.h,
                             body={"reminder_time": None}), 200)
        self.assertIsNone(p["reminder_time"])
        self.assertEqual(psql("SELECT count(*) FROM tasks WHERE kind = 'reminder' AND "
                              "payload->>'note_id' = '%s'" % n["id"]), [["0"]])


if __name__ == "__main__":
    unittest.main()
