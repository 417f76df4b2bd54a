"""Every error nginx itself answers on /api/ is problem+json, including the ones it
answers before any location runs: a 16 KiB request header (its internal 494, sent as
431), a request line too long (414), an unknown Transfer-Encoding (501), plain HTTP on
the TLS port (497, sent as 400)."""

import json
import socket
import ssl
import unittest
import urllib.parse

import harness
from harness import call


def raw_https(data, timeout=10):
    """Sends data over HTTP/1.1 + TLS and returns (status, headers text, body bytes)."""
    u = urllib.parse.urlsplit(harness.base_url())
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    t = harness.ssl_context().wrap_socket(s, server_hostname=u.hostname)
    try:
        t.sendall(data)
        out = b""
        while True:
            try:
                chunk = t.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        t.close()
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


class NginxProblemTest(unittest.TestCase):
    def assert_problem_raw(self, status, head, body, want, code):
        self.assertEqual(status, want, head)
        self.assertRegex(head, r"(?im)^content-type: application/problem\+json")
        p = json.loads(body)
        self.assertEqual(p["status"], want)
        self.assertEqual(p["code"], code)
        self.assertIn("title", p)

    def test_16k_header_is_431_problem(self):
        r = call("GET", "/health", headers={"X-Big": "a" * 16384})
        self.assertEqual(r.status, 431, r)
        harness.assert_problem(r, 431, "headers_too_large")

    def test_many_headers_over_the_buffers_is_431_problem(self):
        headers = {"X-H%d" % i: "b" * 7000 for i in range(6)}
        r = call("GET", "/auth/me", headers=headers)
        harness.assert_problem(r, 431, "headers_too_large")

    def test_uri_too_long_is_414_problem(self):
        r = call("GET", "/health?q=" + "a" * 20000)
        harness.assert_problem(r, 414, "uri_too_long")

    def test_unknown_transfer_encoding_is_501_problem(self):
        u = urllib.parse.urlsplit(harness.base_url())
        st, head, body = raw_https(
            b"POST /api/v1/_test/echo HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: gzip\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n\r\nxx"
            % u.hostname.encode())
        self.assert_problem_raw(st, head, body, 501, "not_implemented")

    def test_plain_http_on_the_tls_port_is_400_problem(self):
        u = urllib.parse.urlsplit(harness.base_url())
        s = socket.create_connection((u.hostname, u.port), timeout=10)
        try:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        self.assert_problem_raw(int(head.split(b" ", 2)[1]), head.decode("latin-1"), body,
                                400, "bad_request")

    def test_normal_requests_unaffected(self):
        r = call("GET", "/health", headers={"X-Small": "a" * 1000})
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
