"""A minimal FastCGI client for the tests that talk to medrin-fcgi without nginx
(test_systemd: a socket-activated or stopping pool; test_hosts: one app host's port).
One request per connection, role RESPONDER, no keep-alive: what nginx sends us."""

import re
import socket
import struct


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def params(pairs):
    out = b""
    for k, v in pairs.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += k + v
    return out


def request_bytes(method, uri, body=b"", headers=None):
    """BEGIN_REQUEST, the CGI parameters nginx would send, and the body (STDIN)."""
    p = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "DOCUMENT_URI": uri,
         "SCRIPT_NAME": uri, "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
         "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost", "HTTPS": "on",
         "CONTENT_LENGTH": str(len(body))}
    if body:
        p["CONTENT_TYPE"] = "application/json"
    for k, v in (headers or {}).items():
        p["HTTP_" + k.upper().replace("-", "_")] = v
    return (record(1, struct.pack("!HB5x", 1, 0)) + record(4, params(p)) + record(4, b"")
            + (record(5, body) if body else b"") + record(5, b""))


def read_response(s):
    """Reads to EOF; returns (status, body bytes) from the STDOUT records."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    out, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, clen, plen = struct.unpack("!BBHHB", data[i:i + 7])
        if rtype == 6:
            out += data[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    head, _, rest = out.partition(b"\r\n\r\n")
    m = re.search(rb"^Status:\s*(\d+)", head, re.M | re.I)
    return (int(m.group(1)) if m else 200), rest


def request(where, method, uri, body=b"", headers=None, timeout=15):
    """One request to where (a unix socket path, or a (host, port) pair): (status, body)."""
    if isinstance(where, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(where)
        except OSError:
            s.close()
            raise
    else:
        s = socket.create_connection(where, timeout=timeout)
    try:
        s.sendall(request_bytes(method, uri, body, headers))
        return read_response(s)
    finally:
        s.close()
