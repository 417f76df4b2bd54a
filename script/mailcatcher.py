#!/usr/bin/env python3
"""mailcatcher.py - a local SMTP server that keeps every message, with an HTTP inbox.

For the dev/test stack (script/server); standard library only. Contract
(docs/internals/layout.md):

  SMTP on 127.0.0.1:--smtp-port: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffing), RSET,
  NOOP, QUIT (plus VRFY/HELP answers). Nothing is relayed.
  HTTP on 127.0.0.1:--http-port:
    GET /                  HTML inbox
    GET /api/messages      JSON [{"id","from","to":[...],"subject","body","html","date"}],
                           oldest first; ?to=ADDRESS keeps messages with that recipient
    GET /api/messages/ID   one message, plus "raw" (the message as received)
    DELETE /api/messages   forget every message (204)

"from" and "to" are the SMTP envelope (MAIL FROM / RCPT TO). "subject" is decoded;
"body" is the text/plain part decoded to text with "\n" line ends ("" if there is none), "html" the text/html
part or null. A port of 0 picks a free port; --ports-file then receives the chosen ports
as SMTP_PORT=N and HTTP_PORT=N lines (written once both are listening).
"""

import argparse
import asyncio
import email
import email.policy
import html
import json
import os
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_MESSAGE = 10 * 1024 * 1024
MAX_LINE = 1024 * 1024


class Store:
    """The messages, shared by the SMTP loop and the HTTP threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.next_id = 1

    def add(self, sender, rcpts, raw):
        msg = parse_message(raw)
        with self.lock:
            msg.update({
                "id": str(self.next_id),
                "from": sender,
                "to": list(rcpts),
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            })
            msg["raw"] = raw.decode("utf-8", "replace")
            self.next_id += 1
            self.messages.append(msg)
            return msg["id"]

    def list(self, to=None):
        with self.lock:
            out = [public(m) for m in self.messages]
        if to:
            to = to.strip().lower()
            out = [m for m in out if to in (r.lower() for r in m["to"])]
        return out

    def get(self, mid):
        with self.lock:
            for m in self.messages:
                if m["id"] == mid:
                    return dict(m)
        return None

    def clear(self):
        with self.lock:
            self.messages.clear()


def public(m):
    return {k: m[k] for k in ("id", "from", "to", "subject", "body", "html", "date")}


def parse_message(raw):
    """Decoded subject, text and HTML bodies of a raw RFC 5322 message."""
    subject, body, body_html = "", "", None
    try:
        msg = email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                       policy=email.policy.default)
        subject = str(msg.get("subject", "") or "")
        part = msg.get_body(preferencelist=("plain",))
        if part is not None:
            body = part.get_content()
        elif not msg.is_multipart() and msg.get_content_maintype() == "text":
            body = msg.get_content()
        part = msg.get_body(preferencelist=("html",))
        if part is not None:
            body_html = part.get_content()
    except Exception as exc:  # a malformed message is still kept, raw
        body = "(could not parse message: %s)" % exc
    return {"subject": subject, "body": body, "html": body_html}


def address(arg, keyword):
    """The address in 'FROM:<a@b> SIZE=1' style arguments, or None."""
    if not arg.upper().startswith(keyword + ":"):
        return None
    rest = arg[len(keyword) + 1:].strip()
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            return None
        return rest[1:end]
    return rest.split(" ", 1)[0]


class SMTPSession:
    def __init__(self, store, reader, writer):
        self.store, self.reader, self.writer = store, reader, writer
        self.reset()

    def reset(self):
        self.sender = None
        self.rcpts = []

    async def reply(self, text):
        self.writer.write(text.encode() + b"\r\n")
        await self.writer.drain()

    async def run(self):
        await self.reply("220 localhost Medrin mail catcher ESMTP")
        while True:
            try:
                line = await self.reader.readuntil(b"\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                await self.reply("500 5.5.2 Line too long")
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reset()
                await self.reply("250-localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                                 "250-PIPELINING\r\n250 SIZE %d" % MAX_MESSAGE)
            elif verb == "HELO":
                self.reset()
                await self.reply("250 localhost")
            elif verb == "MAIL":
                addr = address(arg, "FROM")
                if addr is None:
                    await self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                else:
                    self.reset()
                    self.sender = addr
                    await self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                addr = address(arg, "TO")
                if self.sender is None:
                    await self.reply("503 5.5.1 MAIL first")
                elif not addr:
                    await self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
                else:
                    self.rcpts.append(addr)
                    await self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                if self.sender is None or not self.rcpts:
                    await self.reply("503 5.5.1 MAIL and RCPT first")
                    continue
                await self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = await self.read_data()
                if data is None:
                    return
                if len(data) > MAX_MESSAGE:
                    await self.reply("552 5.3.4 Message too big")
                else:
                    mid = self.store.add(self.sender, self.rcpts, data)
                    await self.reply("250 2.0.0 OK queued as %s" % mid)
                self.reset()
            elif verb == "RSET":
                self.reset()
                await self.reply("250 2.0.0 OK")
            elif verb == "NOOP":
                await self.reply("250 2.0.0 OK")
            elif verb == "VRFY":
                await self.reply("252 2.5.2 Cannot VRFY user")
            elif verb == "HELP":
                await self.reply("214 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT")
            elif verb == "QUIT":
                await self.reply("221 2.0.0 Bye")
                return
            elif verb == "":
                await self.reply("500 5.5.2 Empty command")
            else:
                await self.reply("502 5.5.1 Command not implemented")

    async def read_data(self):
        """Lines up to a lone '.', dot-unstuffed; None if the client went away."""
        lines, size = [], 0
        while True:
            try:
                line = await self.reader.readuntil(b"\n")
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size <= MAX_MESSAGE + 2:
                lines.append(line)


def http_handler(store):
    class Handler(BaseHTTPRequestHandler):
        server_version = "mailcatcher"

        def log_message(self, fmt, *args):
            sys.stderr.write("http: %s\n" % (fmt % args))

        def send(self, status, body=b"", ctype="application/json"):
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204 and self.command != "HEAD":
                self.wfile.write(body)

        def send_json(self, status, obj):
            self.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"),
                      "application/json; charset=utf-8")

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/":
                self.send(200, inbox_html(store.list()).encode("utf-8"),
                          "text/html; charset=utf-8")
            elif url.path == "/api/messages":
                self.send_json(200, store.list(query.get("to", [None])[0]))
            elif url.path.startswith("/api/messages/"):
                m = store.get(url.path[len("/api/messages/"):])
                if m is None:
                    self.send_json(404, {"error": "no such message"})
                else:
                    self.send_json(200, m)
            else:
                self.send_json(404, {"error": "not found"})

        do_HEAD = do_GET

        def do_DELETE(self):
            if urlsplit(self.path).path == "/api/messages":
                store.clear()
                self.send(204)
            else:
                self.send_json(404, {"error": "not found"})

    return Handler


def inbox_html(messages):
    rows = []
    for m in reversed(messages):
        rows.append(
            "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
            "<tr><td></td><td colspan=3><pre>%s</pre></td></tr>" % (
                html.escape(m["date"]), html.escape(m["from"]),
                html.escape(", ".join(m["to"])), html.escape(m["subject"]),
                html.escape(m["body"])))
    return ("<!doctype html><html><head><meta charset=utf-8><title>Medrin mail</title>"
            "<style>body{font-family:sans-serif}td{vertical-align:top;padding:2px 8px}"
            "pre{white-space:pre-wrap;margin:0 0 12px}</style></head><body>"
            "<h1>Medrin mail catcher</h1><p>%d message(s), newest first. "
            "JSON: <a href=/api/messages>/api/messages</a></p><table>"
            "<tr><th>date</th><th>from</th><th>to</th><th>subject</th></tr>%s</table>"
            "</body></html>" % (len(messages), "".join(rows)))


def write_ports(path, smtp_port, http_port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("SMTP_PORT=%d\nHTTP_PORT=%d\n" % (smtp_port, http_port))
    os.replace(tmp, path)


async def main_async(args):
    store = Store()
    httpd = ThreadingHTTPServer((args.host, args.http_port), http_handler(store))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    async def on_client(reader, writer):
        try:
            await SMTPSession(store, reader, writer).run()
        finally:
            writer.close()

    server = await asyncio.start_server(on_client, args.host, args.smtp_port, limit=MAX_LINE)
    smtp_port = server.sockets[0].getsockname()[1]
    http_port = httpd.server_address[1]
    if args.ports_file:
        write_ports(args.ports_file, smtp_port, http_port)
    print("mailcatcher: smtp %s:%d, http http://%s:%d/" % (args.host, smtp_port, args.host,
                                                          http_port), flush=True)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smtp-port", type=int, default=1025)
    p.add_argument("--http-port", type=int, default=1080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ports-file")
    args = p.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
