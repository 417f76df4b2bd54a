"""Helpers shared by test_users and test_profiles: accounts with a given role (made with
medrinctl, as an operator would), the confirmation link from the mail catcher, and
medrinctl with standard input."""

import re
import subprocess
import uuid

import harness
from harness import assert_json, call, psql, wait_for_mail
from test_auth import PASSWORD, bearer, fresh_email, login, register, secret


def account(role="user", **extra):
    """A new verified account; returns dict(email, id, access, refresh, headers)."""
    email, tok = register(fresh_email("usr"), **extra)
    if role != "user":
        p = ctl("promote", email, role)
        assert p.returncode == 0, p.stderr
        tok = login(email)  # a token whose claim carries the role (the session has it too)
    return {"email": email, "id": tok["user"]["id"], "access": tok["access_token"],
            "refresh": tok["refresh_token"], "headers": bearer(tok["access_token"])}


def ctl(*args, input=None, timeout=60):
    """medrinctl ARGS with the stack's environment and input on standard input."""
    return subprocess.run([harness.build_path("cli", "medrinctl")] + list(args),
                          input=input, env=harness.child_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def confirm_link_token(email, after_ids=()):
    msg = wait_for_mail(email, after_ids=after_ids, subject_contains="Confirm your new")
    m = re.search(r"/api/v1/auth/confirm\?token=([0-9a-f]{32}\.[0-9a-f]{64})", msg["body"])
    assert m, "no confirmation link in the mail"
    return secret(m.group(1))


def only_admin(admin_id):
    """Makes admin_id the only admin (other tests' admins become plain users)."""
    psql("UPDATE users SET role = 'user' WHERE role = 'admin' AND id <> '%s'" % admin_id)
    rows = psql("SELECT id FROM users WHERE role = 'admin'")
    assert rows == [[admin_id]], rows


def new_email():
    return "usr-new-%s@example.com" % uuid.uuid4().hex[:12]


def users_row(user_id, cols="email, role, first_name"):
    return psql("SELECT %s FROM users WHERE id = '%s'" % (cols, user_id))


def get(path, who, **kw):
    return call("GET", path, headers=who["headers"], **kw)


def send(method, path, who, body=None, **kw):
    return call(method, path, body=body, headers=who["headers"], **kw)


__all__ = ["account", "ctl", "confirm_link_token", "only_admin", "new_email", "users_row",
           "get", "send", "PASSWORD", "assert_json"]
