"""medrinctl migrate (lib/store/migrate.h): idempotent, safe when run twice at once,
refuses an edited migration that was already applied."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import medrinctl, psql

ROWS_SQL = "SELECT * FROM schema_migrations ORDER BY 1"


def migrations_dir():
    d = harness.env_get("MEDRIN_MIGRATIONS_DIR") or os.path.join(harness.ROOT, "sql",
                                                                   "migrations")
    return d


def migration_files(d=None):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(d or migrations_dir(),
                                                                      "[0-9]*.sql")))


def output(p):
    return (p.stdout or "") + (p.stderr or "")


class MigrateTest(unittest.TestCase):
    def fresh_database(self):
        """A new empty database next to the stack's; dropped after the test. Returns its
        URL (skips when the role may not create databases)."""
        name = "medrin_migtest_%d_%d" % (os.getpid(), id(self) % 100000)
        try:
            psql('CREATE DATABASE "%s"' % name)
        except harness.HarnessError as e:
            self.skipTest("cannot create a scratch database: %s" % e)
        self.addCleanup(self.drop_database, name)
        return harness.database_url_for(name)

    def drop_database(self, name):
        try:
            psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        except harness.HarnessError as e:
            print("could not drop %s: %s" % (name, e))

    def test_rerun_is_a_noop(self):
        before = psql(ROWS_SQL)
        self.assertEqual(len(before), len(migration_files()),
                         "the stack's database is not fully migrated: %r" % before)
        p = medrinctl("migrate")
        self.assertEqual(p.returncode, 0, output(p))
        self.assertIn("up to date", output(p).lower())
        self.assertEqual(psql(ROWS_SQL), before)

    def test_fresh_database_then_rerun(self):
        url = self.fresh_database()
        p = medrinctl("migrate", DATABASE_URL=url)
        self.assertEqual(p.returncode, 0, output(p))
        files = migration_files()
        for f in files:
            self.assertIn(f[:-4], output(p), "no progress line for %s" % f)
        rows = psql(ROWS_SQL, url)
        self.assertEqual(len(rows), len(files))
        again = medrinctl("migrate", DATABASE_URL=url)
        self.assertEqual(again.returncode, 0, output(again))
        self.assertIn("up to date", output(again).lower())
        self.assertEqual(psql(ROWS_SQL, url), rows)

    def test_two_at_once_each_migration_recorded_once(self):
        url = self.fresh_database()
        exe = harness.build_path("cli", "medrinctl")
        e = harness.child_env(DATABASE_URL=url)
        procs = [subprocess.Popen([exe, "migrate"], env=e, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60)[0] for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outs)
        n = len(migration_files())
        total, distinct = psql("SELECT count(*), count(DISTINCT version) FROM schema_migrations",
                               url)[0]
        self.assertEqual((int(total), int(distinct)), (n, n), outs)
        self.assertIsNotNone(psql("SELECT to_regclass('users')", url)[0][0])

    def test_edited_applied_migration_is_refused(self):
        files = migration_files()
        self.assertTrue(files and files[0].startswith("0001"), files)
        tmp = tempfile.mkdtemp(prefix="medrin-mig-")
        self.addCleanup(shutil.rmtree, tmp, True)
        copy = os.path.join(tmp, "migrations")
        shutil.copytree(migrations_dir(), copy)
        with open(os.path.join(copy, files[0]), "ab") as f:
            f.write(b"\n-- edited after release\n")
        # A pending migration after it must not run either: refusal comes first.
        with open(os.path.join(copy, "9999_must_not_run.sql"), "w") as f:
            f.write("CREATE TABLE must_not_run_h6 (id int);\n")
        self.addCleanup(self.undo_9999)
        before = psql(ROWS_SQL)
        p = medrinctl("migrate", MEDRIN_MIGRATIONS_DIR=copy)
        self.assertNotEqual(p.returncode, 0, output(p))
        self.assertIn("0001", output(p))
        self.assertEqual(psql(ROWS_SQL), before)
        self.assertEqual(psql("SELECT to_regclass('must_not_run_h6') IS NULL")[0][0], "t")

    def undo_9999(self):
        # Only does something if the refusal failed and 9999 ran on the stack's database.
        for sql in ("DROP TABLE IF EXISTS must_not_run_h6",
                    "DELETE FROM schema_migrations WHERE version::text IN "
                    "('9999', '9999_must_not_run')"):
            try:
                psql(sql)
            except harness.HarnessError:
                pass

    def test_lost_lock_session_applies_nothing(self):
        """The advisory lock belongs to one PostgreSQL session. When that session dies while
        medrinctl waits inside the run (here: blocked reading schema_migrations), db
        reconnects transparently; the new session does not hold the lock, so nothing may
        be applied on it (another medrinctl could be applying the same file)."""
        url = self.fresh_database()
        p = medrinctl("migrate", DATABASE_URL=url)
        self.assertEqual(p.returncode, 0, output(p))
        tmp = tempfile.mkdtemp(prefix="medrin-mig-")
        self.addCleanup(shutil.rmtree, tmp, True)
        copy = os.path.join(tmp, "migrations")
        shutil.copytree(migrations_dir(), copy)
        with open(os.path.join(copy, "9998_lockless.sql"), "w") as f:
            f.write("CREATE TABLE lockless_b1 (id int);\n")
        # Hold schema_migrations so medrinctl blocks after taking the advisory lock.
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
             "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=harness.child_env())
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        harness.wait_until(lambda: psql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'schema_migrations' AND l.mode = 'AccessExclusiveLock' "
            "AND l.granted", url)[0][0] == "1", timeout=10, message="the holder never locked")
        exe = harness.build_path("cli", "medrinctl")
        proc = subprocess.Popen([exe, "migrate"],
                                env=harness.child_env(DATABASE_URL=url,
                                                      MEDRIN_MIGRATIONS_DIR=copy),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        waiting = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
                   "AND query LIKE '%FROM schema_migrations%'")
        harness.wait_until(lambda: psql(waiting, url), timeout=10,
                           message="medrinctl never waited on schema_migrations")
        pid = psql(waiting, url)[0][0]
        psql("SELECT pg_terminate_backend(%d)" % int(pid), url)
        out = proc.communicate(timeout=60)[0]
        holder.communicate(timeout=30)
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertEqual(psql("SELECT to_regclass('lockless_b1') IS NULL", url)[0][0], "t", out)
        self.assertEqual(psql("SELECT count(*) FROM schema_migrations WHERE version = 9998",
                              url)[0][0], "0", out)

    def test_unedited_copy_is_up_to_date(self):
        tmp = tempfile.mkdtemp(prefix="medrin-mig-")
        self.addCleanup(shutil.rmtree, tmp, True)
        copy = os.path.join(tmp, "migrations")
        shutil.copytree(migrations_dir(), copy)
        p = medrinctl("migrate", MEDRIN_MIGRATIONS_DIR=copy)
        self.assertEqual(p.returncode, 0, output(p))
        self.assertIn("up to date", output(p).lower())


if __name__ == "__main__":
    unittest.main()
