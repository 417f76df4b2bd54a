"""Resumes: nested CRUD, validation with paths, the per-user cache, ownership, tasks.

api.md "Resumes"; docs/internals/resumes.md. The cache's "never stale" is checked from
both pools (two hosts' worth of processes) right after each write, and against
PostgreSQL.
"""

import json
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, psql
from resumes_common import create, full_body, new_user
from test_auth import login, redis_cli, redis_prefix


def pg_count(sql):
    return int(psql(sql)[0][0])


class CrudTest(unittest.TestCase):
    def setUp(self):
        self.email, self.h = new_user()

    def test_create_list_put_list_delete(self):
        body = create(self.h, full_body())
        rid = body["id"]
        self.assertEqual([s["section_type"] for s in body["sections"]], ["education", "experience"])
        self.assertEqual(body["sections"][1]["items"][0]["bullets"], ["one", "two"])
        listed = assert_json(call("GET", "/resumes", headers=self.h), 200)
        self.assertEqual([r["id"] for r in listed["items"]], [rid])
        self.assertIsNone(listed["next_cursor"])
        # PUT a changed tree: the education section goes, a new one comes, items reorder.
        work = body["sections"][1]
        changed = {"title": "Changed", "template": "compact", "contact": {"name": "Zoë"},
                   "sections": [
                       {"id": work["id"], "section_type": "experience", "title": "Jobs",
                        "position": 5, "items": [
                            {"title": "Second", "position": 2},
                            {"id": work["items"][0]["id"], "title": "First", "position": 1,
                             "bullets": ["x"]}]},
                       {"section_type": "skill", "title": "Skills", "position": 0}]}
        put = assert_json(call("PUT", "/resumes/%s" % rid, changed, headers=self.h), 200)
        self.assertEqual([s["title"] for s in put["sections"]], ["Skills", "Jobs"])
        self.assertEqual(put["sections"][1]["id"], work["id"])
        self.assertEqual([i["title"] for i in put["sections"][1]["items"]], ["First", "Second"])
        self.assertEqual(put["sections"][1]["items"][0]["id"], work["items"][0]["id"])
        # The list shows the change at once, on every pool (host), cache or not.
        for base in harness.pool_urls():
            for _ in range(2):
                got = assert_json(call("GET", "/resumes", headers=self.h, base=base), 200)
                self.assertEqual(got["items"][0]["title"], "Changed")
                self.assertEqual(got["items"][0]["template"], "compact")
                self.assertEqual([s["title"] for s in got["items"][0]["sections"]],
                                 ["Skills", "Jobs"])
        self.assertEqual(pg_count("SELECT count(*) FROM resume_sections WHERE resume_id = '%s'"
                                  % rid), 2)
        # PATCH title, then DELETE.
        p = assert_json(call("PATCH", "/resumes/%s" % rid, {"title": "Patched"}, headers=self.h), 200)
        self.assertEqual(p["title"], "Patched")
        self.assertEqual(len(p["sections"]), 2)
        got = assert_json(call("GET", "/resumes", headers=self.h), 200)
        self.assertEqual(got["items"][0]["title"], "Patched")
        r = call("DELETE", "/resumes/%s" % rid, headers=self.h)
        self.assertEqual(r.status, 204)
        for base in harness.pool_urls():
            got = assert_json(call("GET", "/resumes", headers=self.h, base=base), 200)
            self.assertEqual(got["items"], [])
        self.assertEqual(pg_count("SELECT count(*) FROM resumes WHERE id = '%s'" % rid), 0)
        self.assertEqual(pg_count("SELECT count(*) FROM resume_sections WHERE resume_id = '%s'"
                                  % rid), 0)
        self.assertEqual(pg_count("SELECT count(*) FROM resume_items i JOIN resume_sections s "
                                  "ON s.id = i.section_id WHERE s.resume_id = '%s'" % rid), 0)
        assert_problem(call("GET", "/resumes/%s" % rid, headers=self.h), 404, "not_found")

    def test_empty_body_makes_untitled_with_four_sections(self):
        titles = [create(self.h)["title"] for _ in range(3)]
        self.assertEqual(titles, ["Untitled Resume", "Untitled Resume (2)", "Untitled Resume (3)"])
        one = assert_json(call("GET", "/resumes", headers=self.h), 200)["items"][0]
        self.assertEqual([s["section_type"] for s in one["sections"]],
                         ["education", "experience", "project", "skill"])
        self.assertTrue(all(s["items"] == [] for s in one["sections"]))
        r = call("POST", "/resumes", headers=self.h)  # no body at all
        self.assertEqual(assert_json(r, 201)["title"], "Untitled Resume (4)")
        self.assertTrue(r.headers.get("location", "").endswith("/resumes/%s" % r.json()["id"]))

    def test_cache_is_used_and_dropped_by_logout(self):
        rid = create(self.h)["id"]
        call("GET", "/resumes", headers=self.h)
        r = call("GET", "/resumes", headers=self.h)
        self.assertEqual(r.headers.get("x-medrin-cache"), "hit")
        uid = psql("SELECT user_id FROM resumes WHERE id = '%s'" % rid)[0][0]
        key = "%sresumes:%s" % (redis_prefix(), uid)
        self.assertEqual(redis_cli("EXISTS", key).strip(), "1")
        # A change made behind the API's back is not seen while the cache is valid: the
        # answer really comes from Redis ...
        psql("UPDATE resumes SET title = 'behind' WHERE id = '%s'" % rid)
        self.assertNotEqual(assert_json(call("GET", "/resumes", headers=self.h), 200)
                            ["items"][0]["title"], "behind")
        # ... and logout drops it.
        self.assertEqual(call("POST", "/auth/logout", headers=self.h).status, 204)
        self.assertEqual(redis_cli("EXISTS", key).strip(), "0")
        h2 = {"Authorization": "Bearer " + login(self.email)["access_token"]}
        self.assertEqual(assert_json(call("GET", "/resumes", headers=h2), 200)
                         ["items"][0]["title"], "behind")

    def test_stale_entry_left_in_redis_is_never_served(self):
        """A write whose cache drop failed (simulated: the old entry is put back after
        it) is still seen at once, on every pool: the entry carries an old version."""
        rid = create(self.h)["id"]
        call("GET", "/resumes", headers=self.h)
        uid = psql("SELECT user_id FROM resumes WHERE id = '%s'" % rid)[0][0]
        key = "%sresumes:%s" % (redis_prefix(), uid)
        old = redis_cli("GET", key) + "\n\n"  # redis-cli strips the final empty line
        redis_cli("SET", key, old)
        r = call("GET", "/resumes", headers=self.h)
        self.assertEqual(r.headers.get("x-medrin-cache"), "hit")  # the copy is readable
        assert_json(call("PATCH", "/resumes/%s" % rid, {"title": "New"}, headers=self.h), 200)
        redis_cli("SET", key, old)
        for base in harness.pool_urls():
            r = call("GET", "/resumes", headers=self.h, base=base)
            self.assertEqual(assert_json(r, 200)["items"][0]["title"], "New")
        r = call("GET", "/resumes", headers=self.h)
        self.assertEqual(r.headers.get("x-medrin-cache"), "hit")
        self.assertEqual(r.json()["items"][0]["title"], "New")

    def test_bad_input_is_422_with_paths_and_changes_nothing(self):
        rid = create(self.h, full_body())["id"]
        before = psql("SELECT updated_at, revision FROM resumes WHERE id = '%s'" % rid)
        bad = {"title": "x" * 201, "template": "fancy", "zz": 1,
               "contact": {"email": "not-an-address", "fax": "1"},
               "sections": [
                   {"section_type": "experience", "items": []},
                   {"section_type": "nope", "items": [
                       {"title": 5, "start_date": "2020-02-30", "end_date": "2019-01-01",
                        "bullets": ["ok", "", 3, "two\nlines"], "position": -1}]}]}
        r = call("PUT", "/resumes/%s" % rid, bad, headers=self.h)
        p = assert_problem(r, 422, "unknown_field")
        fields = {e["field"] for e in p["errors"]}
        for f in ["title", "template", "zz", "contact.email", "contact.fax",
                  "sections[1].section_type", "sections[1].items[0].title",
                  "sections[1].items[0].start_date", "sections[1].items[0].bullets[1]",
                  "sections[1].items[0].bullets[2]", "sections[1].items[0].bullets[3]",
                  "sections[1].items[0].position"]:
            self.assertIn(f, fields)
        r = call("PUT", "/resumes/%s" % rid, {"title": "t", "sections": [
            {"section_type": "skill", "items": [{"start_date": "2021-01-01",
                                                 "end_date": "2020-01-01"}]}]}, headers=self.h)
        p = assert_problem(r, 422, "validation_failed")
        self.assertEqual([e["field"] for e in p["errors"]], ["sections[0].items[0].end_date"])
        # Sizes are bounded.
        too_many = {"title": "t", "sections": [{"section_type": "other"}] * 21}
        p = assert_problem(call("PUT", "/resumes/%s" % rid, too_many, headers=self.h), 422)
        self.assertIn("sections", [e["field"] for e in p["errors"]])
        items = {"title": "t", "sections": [{"section_type": "other", "items": [{}] * 31}]}
        p = assert_problem(call("PUT", "/resumes/%s" % rid, items, headers=self.h), 422)
        self.assertIn("sections[0].items", [e["field"] for e in p["errors"]])
        bullets = {"title": "t", "sections": [{"section_type": "other",
                                               "items": [{"bullets": ["b"] * 16}]}]}
        p = assert_problem(call("PUT", "/resumes/%s" % rid, bullets, headers=self.h), 422)
        self.assertIn("sections[0].items[0].bullets", [e["field"] for e in p["errors"]])
        # Missing title on PUT, wrong types, malformed JSON, huge body.
        p = assert_problem(call("PUT", "/resumes/%s" % rid, {"sections": []}, headers=self.h), 422)
        self.assertIn("title", [e["field"] for e in p["errors"]])
        assert_problem(call("PUT", "/resumes/%s" % rid, [], headers=self.h), 422)
        r = call("PUT", "/resumes/%s" % rid, raw=b'{"title": ', headers=dict(
            self.h, **{"Content-Type": "application/json"}))
        assert_problem(r, 400)
        huge = {"title": "t", "sections": [{"section_type": "other", "items": [
            {"description": "d" * 5000}] * 30}] * 5}
        self.assertEqual(call("PUT", "/resumes/%s" % rid, huge, headers=self.h).status, 413)
        # An id that is not this resume's section, and the same id twice.
        other = create(self.h, full_body())
        foreign = other["sections"][0]["id"]
        p = assert_problem(call("PUT", "/resumes/%s" % rid, {"title": "t", "sections": [
            {"id": foreign, "section_type": "other"}]}, headers=self.h), 422)
        self.assertEqual([e["field"] for e in p["errors"]], ["sections[0].id"])
        same = str(uuid.uuid4())
        p = assert_problem(call("PUT", "/resumes/%s" % rid, {"title": "t", "sections": [
            {"id": same, "section_type": "other"}, {"id": same, "section_type": "other"}]},
            headers=self.h), 422)
        self.assertIn("sections[1].id", [e["field"] for e in p["errors"]])
        # PATCH: only title/template, at least one.
        assert_problem(call("PATCH", "/resumes/%s" % rid, {}, headers=self.h), 422)
        assert_problem(call("PATCH", "/resumes/%s" % rid, {"sections": []}, headers=self.h),
                       422, "unknown_field")
        self.assertEqual(psql("SELECT updated_at, revision FROM resumes WHERE id = '%s'" % rid),
                         before)
        self.assertEqual(pg_count("SELECT count(*) FROM resume_sections WHERE resume_id = '%s'"
                                  % rid), 2)

    def test_get_back_and_put_back_round_trips(self):
        body = create(self.h, full_body())
        back = assert_json(call("PUT", "/resumes/%s" % body["id"], body, headers=self.h), 200)
        for k in ("title", "template", "contact"):
            self.assertEqual(back[k], body[k])
        self.assertEqual(json.dumps(back["sections"]), json.dumps(body["sections"]))

    def test_needs_a_token(self):
        assert_problem(call("GET", "/resumes"), 401)
        assert_problem(call("POST", "/resumes", {}), 401)
        assert_problem(call("GET", "/tasks/%s" % uuid.uuid4()), 401)


class OwnershipTest(unittest.TestCase):
    def test_other_users_resume_task_pdf_are_404(self):
        _, alice = new_user()
        _, bob = new_user()
        rid = create(alice, full_body())["id"]
        task = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=alice), 202)
        for method, path, body in [("GET", "/resumes/%s" % rid, None),
                                   ("PUT", "/resumes/%s" % rid, {"title": "mine"}),
                                   ("PATCH", "/resumes/%s" % rid, {"title": "mine"}),
                                   ("DELETE", "/resumes/%s" % rid, None),
                                   ("POST", "/resumes/%s/compile" % rid, None),
                                   ("POST", "/resumes/%s/rating" % rid, None),
                                   ("GET", "/resumes/%s/pdf" % rid, None),
                                   ("GET", "/tasks/%s" % task["task_id"], None)]:
            assert_problem(call(method, path, body, headers=bob), 404)
        self.assertEqual(assert_json(call("GET", "/resumes", headers=bob), 200)["items"], [])
        self.assertEqual(psql("SELECT title FROM resumes WHERE id = '%s'" % rid)[0][0], "My resume")
        # Ids that are not UUIDs are 404 too, never 500.
        for path in ["/resumes/nope", "/resumes/1%27", "/resumes/nope/pdf", "/tasks/nope",
                     "/resumes/nope/compile"]:
            method = "POST" if path.endswith("compile") else "GET"
            assert_problem(call(method, path, headers=alice), 404)
        # A task without an owner (a mail) is nobody's.
        mail = psql("SELECT id FROM tasks WHERE kind = 'mail' LIMIT 1")
        if mail:
            assert_problem(call("GET", "/tasks/%s" % mail[0][0], headers=alice), 404)
        # The PDF location itself is internal: nginx never serves it directly.
        r = call("GET", "/files/resumes/x.pdf", base=harness.base_url())
        self.assertEqual(r.status, 404)


class TasksTest(unittest.TestCase):
    def test_compile_queued_twice_returns_the_same_task(self):
        _, h = new_user()
        rid = create(h, full_body())["id"]
        # Keep the task queued: no worker runs meanwhile.
        harness.service("stop", "worker")
        self.addCleanup(harness.service, "start", "worker")
        a = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)
        b = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)
        self.assertEqual(a["task_id"], b["task_id"])
        self.assertEqual(a["status_url"], "/api/v1/tasks/%s" % a["task_id"])
        st = assert_json(call("GET", "/tasks/%s" % a["task_id"], headers=h), 200)
        self.assertEqual((st["kind"], st["status"]), ("compile", "queued"))
        self.assertNotIn("result", st)
        # A changed resume gets a new task.
        assert_json(call("PATCH", "/resumes/%s" % rid, {"title": "v2"}, headers=h), 200)
        c = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)
        self.assertNotEqual(c["task_id"], a["task_id"])
        self.assertEqual(pg_count("SELECT count(*) FROM tasks WHERE kind = 'compile' AND "
                                  "payload->>'resume_id' = '%s'" % rid), 2)


if __name__ == "__main__":
    unittest.main()
