"""Profiles: jobseekers and employers tied to account_type (403 otherwise), one per user
(409), validated (dob a real past date, phone E.164, bounded lengths), who may read a
jobseeker profile, employer pages, and ids that are not UUIDs (404)."""

import datetime
import unittest
import uuid

from harness import assert_json, assert_problem, call, problem_fields, psql
from test_auth import NoSecretsMixin
from users_helpers import account, get, send

JS = {"first_name": "Grace", "last_name": "Hopper", "location": "Arlington",
      "phone": "+14155550123", "dob": "1906-12-09"}
EM = {"name": "Acme", "location": "Berlin", "description": "Anvils", "mission": "More anvils",
      "vision": "An anvil for everyone"}
JS_KEYS = {"id", "user_id", "first_name", "last_name", "location", "phone", "dob",
           "created_at", "updated_at"}
EM_KEYS = {"id", "user_id", "name", "location", "description", "mission", "vision",
           "created_at", "updated_at"}


def count(table, user_id):
    return psql("SELECT count(*) FROM %s WHERE user_id = '%s'" % (table, user_id))[0][0]


class JobseekerTest(unittest.TestCase):
    def test_create_read_update(self):
        u = account(account_type="jobseeker")
        assert_problem(get("/jobseekers/me", u), 404, "not_found")
        r = send("POST", "/jobseekers", u, JS)
        body = assert_json(r, 201)
        self.assertEqual(set(body), JS_KEYS)
        self.assertEqual(r.headers.get("location"), "/api/v1/jobseekers/" + body["id"])
        self.assertEqual({k: body[k] for k in JS}, JS)
        self.assertEqual(body["user_id"], u["id"])
        self.assertEqual(assert_json(get("/jobseekers/me", u), 200), body)
        self.assertEqual(assert_json(get("/jobseekers/" + body["id"], u), 200)["id"], body["id"])
        up = assert_json(send("PUT", "/jobseekers/me", u, {"location": "Remote", "dob": None}), 200)
        self.assertEqual((up["location"], up["dob"], up["first_name"]), ("Remote", None, "Grace"))
        self.assertEqual(psql("SELECT location, dob IS NULL FROM jobseekers WHERE user_id = '%s'"
                              % u["id"]), [["Remote", "t"]])

    def test_second_profile_is_409_and_wrong_type_is_403(self):
        u = account(account_type="jobseeker")
        assert_json(send("POST", "/jobseekers", u, JS), 201)
        assert_problem(send("POST", "/jobseekers", u, JS), 409, "profile_exists")
        assert_problem(send("POST", "/employers", u, EM), 403, "account_type_mismatch")
        none = account()
        assert_problem(send("POST", "/jobseekers", none, JS), 403, "account_type_mismatch")
        assert_problem(send("POST", "/employers", none, EM), 403, "account_type_mismatch")
        self.assertEqual((count("jobseekers", u["id"]), count("employers", u["id"]),
                          count("jobseekers", none["id"])), ("1", "0", "0"))

    def test_validation_names_the_field_and_stores_nothing(self):
        u = account(account_type="jobseeker")
        tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
        cases = [("dob", "2001-02-30"), ("dob", "1990/01/01"), ("dob", tomorrow), ("dob", 19900101),
                 ("dob", "1899-12-31"), ("phone", "4155550123"), ("phone", "+0123"),
                 ("phone", "+1415555012345678"), ("phone", "+1 415 555"), ("first_name", ""),
                 ("first_name", "x" * 101), ("location", "x" * 201), ("last_name", None)]
        for field, value in cases:
            body = dict(JS, **{field: value})
            p = assert_problem(send("POST", "/jobseekers", u, body), 422)
            self.assertIn(field, problem_fields(p), (field, value))
        p = assert_problem(send("POST", "/jobseekers", u, {"first_name": "A"}), 422)
        self.assertIn("last_name", problem_fields(p))
        assert_problem(send("POST", "/jobseekers", u, dict(JS, age=3)), 422, "unknown_field")
        assert_problem(call("POST", "/jobseekers", raw=b"{", headers=dict(
            u["headers"], **{"Content-Type": "application/json"})), 400)
        self.assertEqual(count("jobseekers", u["id"]), "0")
        assert_json(send("POST", "/jobseekers", u, JS), 201)
        p = assert_problem(send("PUT", "/jobseekers/me", u, {"dob": "2999-01-01"}), 422)
        self.assertEqual(problem_fields(p), ["dob"])
        self.assertEqual(psql("SELECT dob FROM jobseekers WHERE user_id = '%s'" % u["id"]),
                         [[JS["dob"]]])

    def test_who_reads_a_jobseeker_profile(self):
        owner = account(account_type="jobseeker")
        pid = assert_json(send("POST", "/jobseekers", owner, JS), 201)["id"]
        employer, staff = account(account_type="employer"), account("staff")
        for who in (owner, employer, staff):
            self.assertEqual(assert_json(get("/jobseekers/" + pid, who), 200)["id"], pid)
        for who in (account(account_type="jobseeker"), account()):
            assert_problem(get("/jobseekers/" + pid, who), 404, "not_found")
        assert_problem(call("GET", "/jobseekers/" + pid), 401)
        assert_problem(get("/jobseekers/" + str(uuid.uuid4()), staff), 404)

    def test_put_me_without_a_profile_is_404(self):
        u = account(account_type="jobseeker")
        assert_problem(send("PUT", "/jobseekers/me", u, {"location": "x"}), 404)
        assert_problem(send("PUT", "/employers/me", u, {"location": "x"}), 404)


class EmployerTest(unittest.TestCase):
    def test_create_read_update_and_public_read(self):
        u = account(account_type="employer")
        r = send("POST", "/employers", u, EM)
        body = assert_json(r, 201)
        self.assertEqual(set(body), EM_KEYS)
        self.assertEqual(r.headers.get("location"), "/api/v1/employers/" + body["id"])
        assert_problem(send("POST", "/employers", u, EM), 409, "profile_exists")
        assert_problem(send("POST", "/jobseekers", u, {"first_name": "a", "last_name": "b"}), 403,
                       "account_type_mismatch")
        up = assert_json(send("PUT", "/employers/me", u, {"mission": None, "name": "Acme Ltd"}), 200)
        self.assertEqual((up["name"], up["mission"], up["vision"]), ("Acme Ltd", "", EM["vision"]))
        self.assertEqual(assert_json(get("/employers/me", u), 200), up)
        anyone = account()
        self.assertEqual(assert_json(get("/employers/" + body["id"], anyone), 200)["name"], "Acme Ltd")
        assert_problem(call("GET", "/employers/" + body["id"]), 401)

    def test_validation(self):
        u = account(account_type="employer")
        for field, value in (("name", ""), ("name", "x" * 201), ("description", "x" * 5001),
                             ("mission", 7), ("vision", "x" * 2001), ("name", None)):
            p = assert_problem(send("POST", "/employers", u, dict(EM, **{field: value})), 422)
            self.assertIn(field, problem_fields(p), (field, value))
        self.assertEqual(count("employers", u["id"]), "0")

    def test_list_pages_newest_first_without_repeats(self):
        made = []
        for i in range(3):
            u = account(account_type="employer")
            made.append(assert_json(send("POST", "/employers", u, dict(EM, name="E%d" % i)), 201)["id"])
        reader = account()
        seen, cursor = [], None
        for _ in range(200):
            page = assert_json(get("/employers?limit=2" + ("&cursor=" + cursor if cursor else ""),
                                   reader), 200)
            self.assertLessEqual(len(page["items"]), 2)
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None or set(made) <= set(seen):
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual([i for i in seen if i in made], list(reversed(made)))
        for q in ("limit=0", "limit=101", "cursor=zzz", "cursor=12_notuuid"):
            assert_problem(get("/employers?" + q, reader), 422)


class NotUuidTest(unittest.TestCase):
    def test_ids_that_are_not_uuids_are_404_problems(self):
        u = account(account_type="employer")
        for bad in ("x", "123", "me2", "%27%3B--", "7d4e" * 8):
            assert_problem(get("/jobseekers/" + bad, u), 404)
            assert_problem(get("/employers/" + bad, u), 404)


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()
