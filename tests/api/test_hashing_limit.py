"""The per-host hashing limit: when every hashing slot is busy, a login gets 503
server_busy with Retry-After instead of queueing behind the hashes, and the endpoints that
hash nothing keep answering.

Slots are flock()ed files $MEDRIN_RUN_DIR/hash-slot-N shared by every pool of the host
(lib/security/password.h). This test holds all of them itself, exactly as a storm of
concurrent logins would, so the outcome does not depend on timing."""

import fcntl
import glob
import os
import time
import unittest

import harness
from harness import assert_json, assert_problem, call
from test_auth import PASSWORD, post, register


def hold_every_slot():
    run_dir = harness.env_get("MEDRIN_RUN_DIR")
    paths = sorted(glob.glob(os.path.join(run_dir, "hash-slot-*")))
    if not paths:
        raise AssertionError("no hashing slots in %s" % run_dir)
    held = []
    deadline = time.monotonic() + 10
    for path in paths:
        fd = os.open(path, os.O_RDWR)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # A worker is hashing right now; it lets go within a fraction of a second.
                if time.monotonic() > deadline:
                    raise AssertionError("a hashing slot stayed busy for 10 s: %s" % path)
                time.sleep(0.01)
        held.append(fd)
    return held


def release(fds):
    for fd in fds:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class HashingLimitTest(unittest.TestCase):
    def test_login_storm_gets_503_and_other_endpoints_keep_answering(self):
        email, tok = register()
        held = hold_every_slot()
        try:
            r = post("/auth/login", {"email": email, "password": PASSWORD})
            assert_problem(r, 503, "server_busy")
            self.assertTrue(int(r.headers["retry-after"]) >= 1, r.headers)
            # Unknown addresses hash too (the dummy hash): same answer, no enumeration.
            r = post("/auth/login", {"email": "nobody-%d@example.com" % os.getpid(),
                                     "password": PASSWORD})
            assert_problem(r, 503, "server_busy")
            # Nothing else waits for a slot.
            assert_json(call("GET", "/health"), 200)
            assert_json(call("GET", "/auth/me",
                             headers={"Authorization": "Bearer " + tok["access_token"]}), 200)
        finally:
            release(held)
        # The slots are free again: the same login works.
        assert_json(post("/auth/login", {"email": email, "password": PASSWORD}), 200)


if __name__ == "__main__":
    unittest.main()
