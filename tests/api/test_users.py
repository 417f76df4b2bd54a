"""Users: self-service (/users/me, password, email change by signed link, deletion),
staff and admin management (/users, /users/{id}, roles, the last admin), the medrinctl
bootstrap (create-admin, promote) and their audit rows. Every check of stored state is
made in PostgreSQL."""

import os
import select
import subprocess
import threading
import time
import unittest
import uuid

import harness
from harness import assert_json, assert_problem, call, problem_fields, psql, wait_for_mail
from test_account_security import fresh_ip, from_address, key
from test_auth import (PASSWORD, NoSecretsMixin, bearer, fresh_email, jwt_parts, login,
                       post, redis_cli, register, secret, start_register)
from users_helpers import (account, confirm_link_token, ctl, get, new_email, only_admin,
                           send, users_row)

FULL_KEYS = {"id", "email", "first_name", "last_name", "role", "account_type",
             "email_verified", "login_otp", "created_at", "updated_at", "pending_email"}
PUBLIC_KEYS = {"id", "first_name", "last_name", "account_type", "created_at"}
NOT_UUIDS = ["not-a-uuid", "1", "%27%20OR%201=1", "7d4e" * 8, "00000000-0000-0000-0000-00000000000g"]


def audit_events(user_id):
    return [r[0] for r in psql("SELECT event FROM audit_log WHERE user_id = '%s' "
                               "ORDER BY id" % user_id)]


class RegistrationRolesTest(unittest.TestCase):
    def test_staff_and_admin_are_not_self_assignable(self):
        for role in ("admin", "staff"):
            email = fresh_email("selfrole")
            assert_problem(start_register(email, role=role), 403, "role_not_self_assignable")
            self.assertEqual(psql("SELECT count(*) FROM users WHERE email = '%s'" % email),
                             [["0"]])

    def test_role_jobseeker_or_account_type_sets_the_type_only(self):
        _, tok = register(role="jobseeker")
        self.assertEqual((tok["user"]["role"], tok["user"]["account_type"]), ("user", "jobseeker"))
        _, tok = register(account_type="employer")
        self.assertEqual((tok["user"]["role"], tok["user"]["account_type"]), ("user", "employer"))
        self.assertEqual(users_row(tok["user"]["id"], "role, account_type"), [["user", "employer"]])


class MeTest(unittest.TestCase):
    def test_get_me_is_the_full_object(self):
        u = account()
        body = assert_json(get("/users/me", u), 200)
        # /users/me adds the linked sign-in providers (test_oidc.py links some)
        self.assertEqual(set(body), FULL_KEYS | {"identities"})
        self.assertEqual(body["identities"], [])
        self.assertEqual((body["id"], body["email"], body["pending_email"]), (u["id"], u["email"], None))

    def test_patch_and_put_change_names_and_auth_me_is_fresh(self):
        u = account()
        assert_json(get("/auth/me", u), 200)  # fills the user cache
        body = assert_json(send("PATCH", "/users/me", u, {"first_name": "Ada"}), 200)
        self.assertEqual(body["first_name"], "Ada")
        self.assertEqual(assert_json(get("/auth/me", u), 200)["first_name"], "Ada")
        body = assert_json(send("PUT", "/users/me", u, {"last_name": "Lovelace", "login_otp": True}), 200)
        self.assertEqual((body["first_name"], body["last_name"], body["login_otp"]), ("Ada", "Lovelace", True))
        me = assert_json(get("/auth/me", u), 200)
        self.assertEqual((me["last_name"], me["login_otp"]), ("Lovelace", True))
        self.assertEqual(users_row(u["id"], "first_name, last_name, login_otp"), [["Ada", "Lovelace", "t"]])

    def test_bad_input_changes_nothing(self):
        u = account()
        before = users_row(u["id"], "first_name, last_name, login_otp, updated_at")
        cases = [
            ({"colour": "red"}, 422, "unknown_field", "colour"),
            ({"first_name": 5}, 422, "validation_failed", "first_name"),
            ({"first_name": "x" * 101}, 422, "validation_failed", "first_name"),
            ({"login_otp": "yes"}, 422, "validation_failed", "login_otp"),
            ({"email": "not an address"}, 422, "validation_failed", "email"),
            ({"role": "root"}, 422, "validation_failed", "role"),
            ({"first_name": "Ok", "nope": 1}, 422, "unknown_field", "nope"),
        ]
        for body, status, code, field in cases:
            p = assert_problem(send("PATCH", "/users/me", u, body), status, code)
            self.assertIn(field, problem_fields(p), body)
        assert_problem(call("PATCH", "/users/me", raw=b'{"first_name":', headers=dict(
            u["headers"], **{"Content-Type": "application/json"})), 400)
        assert_problem(call("PATCH", "/users/me", raw=b'{"first_name":"' + b"a" * 70000 + b'"}',
                            headers=dict(u["headers"], **{"Content-Type": "application/json"})), 413)
        assert_problem(call("PATCH", "/users/me", body={"first_name": "x"}), 401)
        self.assertEqual(users_row(u["id"], "first_name, last_name, login_otp, updated_at"), before)

    def test_self_role_change_is_refused(self):
        u = account()
        assert_problem(send("PATCH", "/users/me", u, {"role": "admin"}), 403, "role_change_forbidden")
        assert_problem(send("PUT", "/users/%s?role=staff" % u["id"], u, {}), 403, "role_change_forbidden")
        self.assertEqual(users_row(u["id"], "role"), [["user"]])
        # the current role itself is no change and is accepted
        assert_json(send("PATCH", "/users/me", u, {"role": "user"}), 200)


class PasswordTest(unittest.TestCase):
    def test_change_revokes_other_sessions_and_mails_a_notice(self):
        u = account()
        other = login(u["email"])
        new = secret("another long passphrase 42")
        before = harness.mail_ids()
        r = send("PUT", "/users/me/password", u, {"current_password": PASSWORD, "new_password": new})
        self.assertEqual(r.status, 204, r)
        assert_problem(call("GET", "/auth/me", headers=bearer(other["access_token"])), 401)
        assert_problem(post("/auth/refresh", {"refresh_token": other["refresh_token"]}), 401)
        assert_json(get("/auth/me", u), 200)  # the current session stays
        assert_problem(post("/auth/login", {"email": u["email"], "password": PASSWORD}), 401)
        login(u["email"], new)
        wait_for_mail(u["email"], after_ids=before, subject_contains="password was changed")
        self.assertIn("password_changed", audit_events(u["id"]))

    def test_wrong_current_or_weak_new_password(self):
        u = account()
        hash_before = users_row(u["id"], "password_hash")
        p = assert_problem(send("PUT", "/users/me/password", u, {
            "current_password": "wrong password here", "new_password": "fine new passphrase"}), 422)
        self.assertEqual(problem_fields(p), ["current_password"])
        p = assert_problem(send("PUT", "/users/me/password", u, {
            "current_password": PASSWORD, "new_password": "short"}), 422)
        self.assertEqual(problem_fields(p), ["new_password"])
        p = assert_problem(send("PUT", "/users/me/password", u, {"new_password": "x" * 20}), 422)
        self.assertIn("current_password", problem_fields(p))
        assert_problem(send("PUT", "/users/me/password", u, {
            "current_password": PASSWORD, "new_password": "fine new passphrase", "x": 1}), 422, "unknown_field")
        self.assertEqual(users_row(u["id"], "password_hash"), hash_before)
        assert_json(get("/auth/me", u), 200)


    def test_wrong_current_passwords_wait_on_the_sign_in_throttle(self):
        # A stolen access token must not buy unlimited guesses at the password: a wrong
        # current_password counts like a failed sign-in (docs/users.md).
        u = account()
        hash_before = users_row(u["id"], "password_hash")
        wrong = {"current_password": "wrong password here", "new_password": "fine new passphrase"}
        right = {"current_password": PASSWORD, "new_password": "fine new passphrase"}
        with from_address(fresh_ip()):
            for _ in range(5):
                assert_problem(send("PUT", "/users/me/password", u, wrong), 422)
            r = send("PUT", "/users/me/password", u, right)
            assert_problem(r, 429, "login_throttled")
            wait = int(r.headers["Retry-After"])
            self.assertGreaterEqual(wait, 1)
            # the counters are the sign-in throttle's own
            self.assertEqual(redis_cli("EXISTS", key("login_fail", u["email"])), "1")
            self.assertEqual(users_row(u["id"], "password_hash"), hash_before)
            time.sleep(wait + 0.2)
            self.assertEqual(send("PUT", "/users/me/password", u, right).status, 204)
        self.assertEqual(redis_cli("EXISTS", key("login_fail", u["email"])), "0")
        self.assertNotEqual(users_row(u["id"], "password_hash"), hash_before)
        self.assertEqual(audit_events(u["id"]).count("password_change_failed"), 5)


class EmailChangeTest(unittest.TestCase):
    def start(self, u):
        target = new_email()
        before = harness.mail_ids()
        body = assert_json(send("PATCH", "/users/me", u, {"email": target.upper()}), 200)
        self.assertEqual((body["email"], body["pending_email"]), (u["email"], target))
        return target, confirm_link_token(target, before)

    def test_link_confirms_once_and_login_moves_to_the_new_address(self):
        u = account()
        target, token = self.start(u)
        self.assertEqual(assert_json(get("/users/me", u), 200)["pending_email"], target)
        before = harness.mail_ids()
        body = assert_json(call("GET", "/auth/confirm?token=" + token), 200)
        self.assertEqual(body["email"], target)
        assert_problem(call("GET", "/auth/confirm?token=" + token), 400, "confirm_invalid")
        me = assert_json(get("/auth/me", u), 200)
        self.assertEqual((me["email"], me["email_verified"]), (target, True))
        self.assertEqual(users_row(u["id"], "email, pending_email"), [[target, ""]])
        login(target)
        assert_problem(post("/auth/login", {"email": u["email"], "password": PASSWORD}), 401)
        msg = wait_for_mail(u["email"], after_ids=before, subject_contains="address was changed")
        self.assertIn(target, msg["body"])
        events = audit_events(u["id"])
        self.assertIn("email_change_requested", events)
        self.assertIn("email_changed", events)

    def test_expired_tampered_and_foreign_tokens_are_400(self):
        u = account()
        target, token = self.start(u)
        nonce, mac = token.split(".")
        flip = lambda s, i: s[:i] + ("0" if s[i] != "0" else "1") + s[i + 1:]
        for bad in (flip(nonce, 3) + "." + mac, nonce + "." + flip(mac, 10), nonce, nonce + ".",
                    "." + mac, u["access"], u["refresh"], "x" * 300, token + "0"):
            assert_problem(call("GET", "/auth/confirm?token=" + bad), 400, "confirm_invalid")
        assert_problem(call("GET", "/auth/confirm"), 422)
        psql("UPDATE email_changes SET expires_at = now() - interval '1 second' "
             "WHERE user_id = '%s'" % u["id"])
        assert_problem(call("GET", "/auth/confirm?token=" + token), 400, "confirm_invalid")
        self.assertEqual(users_row(u["id"], "email, pending_email"), [[u["email"], target]])

    def test_resend_supersedes_the_old_link_and_cancel_kills_it(self):
        u = account()
        assert_problem(send("POST", "/users/me/verify-email", u), 409, "no_pending_email")
        target, first = self.start(u)
        before = harness.mail_ids()
        assert_json(send("POST", "/users/me/verify-email", u), 202)
        second = confirm_link_token(target, before)
        self.assertNotEqual(first, second)
        assert_problem(call("GET", "/auth/confirm?token=" + first), 400, "confirm_invalid")
        # back to the current address: the pending change and its link are cancelled
        body = assert_json(send("PATCH", "/users/me", u, {"email": u["email"]}), 200)
        self.assertIsNone(body["pending_email"])
        assert_problem(call("GET", "/auth/confirm?token=" + second), 400, "confirm_invalid")
        self.assertEqual(users_row(u["id"], "email"), [[u["email"]]])

    def test_address_taken_meanwhile_is_409(self):
        u, other = account(), account()
        target, token = self.start(u)
        psql("UPDATE users SET email = '%s' WHERE id = '%s'" % (target, other["id"]))
        assert_problem(call("GET", "/auth/confirm?token=" + token), 409, "email_taken")
        self.assertEqual(users_row(u["id"], "email"), [[u["email"]]])


class OtherUsersTest(unittest.TestCase):
    def test_plain_user_sees_public_view_and_cannot_change_or_delete(self):
        a, b = account(), account()
        body = assert_json(get("/users/" + b["id"], a), 200)
        self.assertEqual(set(body), PUBLIC_KEYS)
        self.assertEqual(body["id"], b["id"])
        assert_problem(send("PUT", "/users/" + b["id"], a, {"first_name": "Mallory"}), 403, "forbidden")
        assert_problem(send("DELETE", "/users/" + b["id"], a), 403, "forbidden")
        assert_problem(get("/users", a), 403)
        self.assertEqual(users_row(b["id"], "first_name = ''"), [["t"]])
        unknown = str(uuid.uuid4())
        assert_problem(get("/users/" + unknown, a), 404, "not_found")
        assert_problem(send("PUT", "/users/" + unknown, a, {"first_name": "x"}), 404)
        assert_problem(send("DELETE", "/users/" + unknown, a), 404)
        # the owner may use /users/{id} for themself
        self.assertEqual(set(assert_json(get("/users/" + a["id"], a), 200)), FULL_KEYS)
        assert_json(send("PUT", "/users/" + a["id"], a, {"first_name": "Me"}), 200)

    def test_non_uuid_ids_are_404_problems(self):
        a = account()
        for bad in NOT_UUIDS:
            for method in ("GET", "PUT", "DELETE"):
                body = {} if method == "PUT" else None
                assert_problem(send(method, "/users/" + bad, a, body), 404)

    def test_staff_lists_and_reads_everything_but_changes_no_role(self):
        staff, b = account("staff"), account(account_type="employer")
        body = assert_json(get("/users/" + b["id"], staff), 200)
        self.assertEqual(set(body), FULL_KEYS)
        self.assertEqual(body["email"], b["email"])
        page = assert_json(get("/users?limit=100", staff), 200)
        self.assertTrue(all(set(i) == FULL_KEYS for i in page["items"]))
        assert_problem(send("PUT", "/users/" + b["id"], staff, {"role": "staff"}), 403)
        assert_problem(send("PUT", "/users/%s?role=admin" % b["id"], staff, {}), 403)
        assert_problem(send("PUT", "/users/" + b["id"], staff, {"first_name": "x"}), 403)
        assert_problem(send("DELETE", "/users/" + b["id"], staff), 403)
        self.assertEqual(users_row(b["id"], "role, first_name = ''"), [["user", "t"]])

    def test_admin_changes_and_deletes_others(self):
        admin, b = account("admin"), account()
        body = assert_json(send("PUT", "/users/" + b["id"], admin,
                                {"first_name": "Renamed", "login_otp": True}), 200)
        self.assertEqual((body["first_name"], body["login_otp"]), ("Renamed", True))
        body = assert_json(send("PUT", "/users/%s?role=staff" % b["id"], admin, {}), 200)
        self.assertEqual(body["role"], "staff")
        self.assertEqual(users_row(b["id"], "role, first_name"), [["staff", "Renamed"]])
        self.assertIn("role_changed", audit_events(b["id"]))
        # the promotion counts on b's next request, with b's old token
        assert_json(get("/users", b), 200)
        self.assertEqual(send("DELETE", "/users/" + b["id"], admin).status, 204)
        self.assertEqual(users_row(b["id"]), [])
        assert_problem(get("/auth/me", b), 401)


class ListTest(unittest.TestCase):
    def test_filters_search_and_cursor_pages(self):
        staff = account("staff")
        tag = uuid.uuid4().hex[:10]
        made = []
        for i, kind in enumerate(("jobseeker", "employer", "jobseeker")):
            u = account(account_type=kind)
            assert_json(send("PATCH", "/users/me", u, {"last_name": "Zq%s_%d" % (tag, i)}), 200)
            made.append(u)
        ids = lambda page: [i["id"] for i in page["items"]]
        page = assert_json(get("/users?q=ZQ%s" % tag, staff), 200)
        self.assertEqual(set(ids(page)), {u["id"] for u in made})
        self.assertIsNone(page["next_cursor"])
        page = assert_json(get("/users?q=%s&account_type=employer" % tag, staff), 200)
        self.assertEqual(ids(page), [made[1]["id"]])
        page = assert_json(get("/users?q=%s&role=staff" % tag, staff), 200)
        self.assertEqual(ids(page), [])
        page = assert_json(get("/users?role=staff&limit=100", staff), 200)
        self.assertIn(staff["id"], ids(page))
        self.assertTrue(all(i["role"] == "staff" for i in page["items"]))
        # email search, and LIKE wildcards are literal
        self.assertEqual(ids(assert_json(get("/users?q=" + made[0]["email"][5:20], staff), 200)),
                         [made[0]["id"]])
        self.assertEqual(ids(assert_json(get("/users?q=%s%%25" % tag, staff), 200)), [])
        self.assertEqual(len(ids(assert_json(get("/users?q=%s_" % tag, staff), 200))), 3)
        # pages of one, newest first, no repeats
        seen, cursor = [], None
        for _ in range(5):
            page = assert_json(get("/users?q=%s&limit=1%s" % (tag, "&cursor=" + cursor if cursor else ""), staff), 200)
            seen += ids(page)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, [u["id"] for u in reversed(made)])

    def test_bad_list_parameters_are_422(self):
        staff = account("staff")
        for q, field in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                         ("role=root", "role"), ("account_type=robot", "account_type"),
                         ("cursor=garbage", "cursor"), ("cursor=1_nope", "cursor"),
                         ("q=" + "a" * 101, "q")):
            p = assert_problem(get("/users?" + q, staff), 422)
            self.assertIn(field, problem_fields(p), q)
        assert_problem(call("GET", "/users"), 401)


class DemotionTest(unittest.TestCase):
    def test_demoted_staff_is_refused_on_the_next_request_on_every_pool(self):
        admin, staff = account("admin"), account("staff")
        for base in harness.pool_urls():
            assert_json(get("/users?limit=1", staff, base=base), 200)
        assert_json(send("PUT", "/users/" + staff["id"], admin, {"role": "user"}), 200)
        for base in harness.pool_urls():
            assert_problem(get("/users?limit=1", staff, base=base), 403)
        self.assertEqual(users_row(staff["id"], "role"), [["user"]])
        # and a refresh does not bring the old role back
        tok = assert_json(post("/auth/refresh", {"refresh_token": staff["refresh"]}), 200)
        self.assertEqual(jwt_parts(tok["access_token"])[1]["role"], "user")
        assert_problem(call("GET", "/users", headers=bearer(tok["access_token"])), 403)


class LastAdminTest(unittest.TestCase):
    def test_last_admin_cannot_demote_or_delete_themself(self):
        a = account("admin")
        only_admin(a["id"])
        assert_problem(send("DELETE", "/users/me", a), 409, "last_admin")
        assert_problem(send("DELETE", "/users/" + a["id"], a), 409, "last_admin")
        assert_problem(send("PATCH", "/users/me", a, {"role": "staff"}), 409, "last_admin")
        p = ctl("promote", a["email"], "user")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(users_row(a["id"], "role"), [["admin"]])
        b = account()
        assert_json(send("PUT", "/users/%s?role=admin" % b["id"], a, {}), 200)
        assert_json(send("PATCH", "/users/me", a, {"role": "user"}), 200)
        self.assertEqual(psql("SELECT id FROM users WHERE role = 'admin'"), [[b["id"]]])

    def test_two_admins_demoting_each_other_at_once_leave_one(self):
        a, b = account("admin"), account("admin")
        only = psql("UPDATE users SET role = 'user' WHERE role = 'admin' AND id NOT IN ('%s', '%s')"
                    % (a["id"], b["id"]))
        del only
        results = {}
        barrier = threading.Barrier(2)

        def demote(actor, target, key):
            barrier.wait()
            results[key] = send("PUT", "/users/" + target["id"], actor, {"role": "user"}).status

        ts = [threading.Thread(target=demote, args=(a, b, "a")),
              threading.Thread(target=demote, args=(b, a, "b"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        # The loser is refused: 409 last_admin when both passed the role check, 403 when
        # the winner's demotion already reached the loser's session.
        self.assertEqual(sorted(results.values())[0], 200, results)
        self.assertIn(sorted(results.values())[1], (403, 409), results)
        self.assertEqual(len(psql("SELECT id FROM users WHERE role = 'admin'")), 1)


class DeleteTest(unittest.TestCase):
    def test_delete_me_removes_every_row_and_kills_every_token(self):
        u = account(account_type="jobseeker")
        other = login(u["email"])
        assert_json(send("POST", "/jobseekers", u, {"first_name": "Del", "last_name": "Me",
                                                   "dob": "1990-01-02"}), 201)
        target = new_email()
        before = harness.mail_ids()
        assert_json(send("PATCH", "/users/me", u, {"email": target}), 200)
        confirm_link_token(target, before)
        psql("INSERT INTO tasks (kind, user_id, payload) VALUES ('noop', '%s', '{}')" % u["id"])
        self.assertEqual(psql("SELECT count(*) FROM email_changes WHERE user_id = '%s'" % u["id"]), [["1"]])
        self.assertEqual(send("DELETE", "/users/me", u).status, 204)
        for tok in (u["access"], other["access_token"]):
            for base in harness.pool_urls():
                assert_problem(call("GET", "/auth/me", headers=bearer(tok), base=base), 401)
                assert_problem(call("GET", "/users/me", headers=bearer(tok), base=base), 401)
        for tok in (u["refresh"], other["refresh_token"]):
            assert_problem(post("/auth/refresh", {"refresh_token": tok}), 401)
        assert_problem(post("/auth/login", {"email": u["email"], "password": PASSWORD}), 401)
        uid = u["id"]
        for table, where in (("users", "id = '%s'" % uid), ("jobseekers", "user_id = '%s'" % uid),
                             ("employers", "user_id = '%s'" % uid),
                             ("email_changes", "user_id = '%s'" % uid),
                             ("tasks", "user_id = '%s'" % uid),
                             ("tasks", "payload->>'to' IN ('%s', '%s')" % (u["email"], target))):
            self.assertEqual(psql("SELECT count(*) FROM %s WHERE %s" % (table, where)), [["0"]], table)
        # audit rows outlive the account on purpose (docs/users.md)
        self.assertIn("user_deleted", audit_events(uid))


class CtlTest(unittest.TestCase):
    def test_create_admin_from_stdin_is_verified_admin_and_audited(self):
        email = fresh_email("ctladmin")
        pw = secret("admin passphrase 12345")
        p = ctl("create-admin", email.upper(), input=pw + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(pw, p.stdout + p.stderr)
        row = psql("SELECT id, role, email_verified FROM users WHERE email = '%s'" % email)
        self.assertEqual([r[1:] for r in row], [["admin", "t"]])
        self.assertIn("admin_created", audit_events(row[0][0]))
        tok = login(email, pw)
        self.assertEqual(tok["user"]["role"], "admin")
        assert_json(call("GET", "/users?limit=1", headers=bearer(tok["access_token"])), 200)
        p = ctl("create-admin", email, input=pw + "\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists", p.stderr)

    def test_create_admin_prompts_twice_on_a_terminal(self):
        email = fresh_email("ctltty")
        pw = secret("terminal passphrase 987")
        for second, status in ((pw + "x", 2), (pw, 0)):
            master, slave = os.openpty()
            p = subprocess.Popen([harness.build_path("cli", "medrinctl"), "create-admin", email],
                                 stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=harness.child_env())
            os.close(slave)
            try:
                for prompt, line in ((b"Password: ", pw), (b"Again: ", second)):
                    seen = b""
                    deadline = time.monotonic() + 20
                    while prompt not in seen and time.monotonic() < deadline:
                        ready, _, _ = select.select([p.stderr], [], [], 0.5)
                        if ready:
                            seen += os.read(p.stderr.fileno(), 256)
                    self.assertIn(prompt, seen)
                    os.write(master, line.encode() + b"\n")
                out, err = p.communicate(timeout=60)
            finally:
                os.close(master)
            self.assertEqual(p.returncode, status, err)
            self.assertNotIn(pw, out.decode() + err.decode())
        self.assertEqual(psql("SELECT role, email_verified FROM users WHERE email = '%s'" % email),
                         [["admin", "t"]])
        login(email, pw)

    def test_create_admin_refuses_bad_input(self):
        email = fresh_email("ctlbad")
        for args, inp, status in ((["create-admin", email], "short\n", 1),
                                  (["create-admin", email], "", 2),
                                  (["create-admin", "not-an-email"], "long enough pass\n", 2),
                                  (["create-admin"], "", 2)):
            p = ctl(*args, input=inp)
            self.assertEqual(p.returncode, status, (args, p.stderr))
        self.assertEqual(psql("SELECT count(*) FROM users WHERE email = '%s'" % email), [["0"]])

    def test_promote_sets_role_effective_at_once_and_audits(self):
        u = account()
        assert_problem(get("/users?limit=1", u), 403)
        p = ctl("promote", u["email"], "staff")
        self.assertEqual(p.returncode, 0, p.stderr)
        assert_json(get("/users?limit=1", u), 200)  # same token: the session's role changed
        rows = psql("SELECT detail->>'from', detail->>'to', detail->>'by' FROM audit_log "
                    "WHERE user_id = '%s' AND event = 'role_changed'" % u["id"])
        self.assertEqual(rows, [["user", "staff", "medrinctl"]])
        self.assertEqual(ctl("promote", fresh_email("nobody"), "staff").returncode, 1)
        self.assertEqual(ctl("promote", u["email"], "root").returncode, 2)
        self.assertEqual(ctl("promote", u["email"]).returncode, 2)
        self.assertEqual(users_row(u["id"], "role"), [["staff"]])


class ZZNoSecretsInLogsTest(NoSecretsMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()
