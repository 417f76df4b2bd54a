"""nginx: the production site is valid, and the per-address rate limit on the credential
endpoints is real (and leaves authenticated reads alone)."""

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness


def _connection(source):
    """A kept-alive TLS connection to the stack's nginx from a chosen loopback source
    address, so this test has its own rate-limit bucket ($binary_remote_addr) and does
    not slow down the other suites, which all come from 127.0.0.1."""
    port = harness._split_base(harness.base_url())[2]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10,
                                       source_address=(source, 0))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RateLimitTest(unittest.TestCase):
    def test_credential_endpoints_are_rate_limited(self):
        conn = _connection("127.0.0.3")
        statuses = []
        limited = None
        for _ in range(400):
            conn.request("POST", "/api/v1/auth/login", body=b"{",
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            statuses.append(r.status)
            if r.status == 429:
                limited = (r, body)
                break
        self.assertIsNotNone(limited, "no 429 after %d login requests: %s"
                             % (len(statuses), sorted(set(statuses))))
        r, body = limited
        self.assertTrue(r.getheader("Content-Type", "").startswith("application/problem+json"))
        self.assertTrue(r.getheader("Retry-After"), "429 without Retry-After")
        self.assertIn(b'"status":429', body.replace(b" ", b""))
        # Before the limit the app itself answered (400 for the malformed body).
        self.assertIn(400, statuses)
        # The same address, right after: an authenticated read is not limited (401
        # without a token, from the app, not 429 from nginx).
        conn.request("GET", "/api/v1/auth/me")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        conn.close()


class ProductionSiteTest(unittest.TestCase):
    def test_production_site_passes_nginx_t(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            self.fail("nginx is not installed")
        tls = os.path.dirname(harness.env_get("MEDRIN_CA_FILE"))
        with open(os.path.join(harness.ROOT, "nginx", "medrin.conf")) as f:
            site = f.read()
        # Only the certificate paths change: they are the one thing an operator must edit.
        site = site.replace("/etc/letsencrypt/live/api.example.com/fullchain.pem",
                            os.path.join(tls, "cert.pem"))
        site = site.replace("/etc/letsencrypt/live/api.example.com/privkey.pem",
                            os.path.join(tls, "key.pem"))
        if os.geteuid() != 0:
            # nginx -t binds the listen sockets, and 80/443 are root's: move each listen
            # line to its own free loopback port (everything else is checked as shipped).
            site = re.sub(r"listen\s+(?:\[::\]:)?\d+", lambda m: "listen 127.0.0.1:%d" % free_port(),
                          site)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "medrin.conf"), "w") as f:
                f.write(site)
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                # Every path nginx would write goes to the temp dir, so this works as an
                # ordinary user too (the defaults are under /var/log and /var/lib).
                f.write("pid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                        "http {{\n include /etc/nginx/mime.types;\n access_log {d}/access.log;\n"
                        " client_body_temp_path {d}/body; fastcgi_temp_path {d}/fastcgi;\n"
                        " proxy_temp_path {d}/proxy; uwsgi_temp_path {d}/uwsgi;\n"
                        " scgi_temp_path {d}/scgi;\n include {d}/medrin.conf;\n}}\n".format(d=d))
            p = subprocess.run([nginx, "-t", "-q", "-p", d, "-c", os.path.join(d, "nginx.conf")],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
