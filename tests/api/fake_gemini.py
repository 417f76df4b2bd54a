"""A small stand-in for Google's Generative Language API (generateContent), for tests.

It speaks the real wire format: POST /v1beta/models/{model}:generateContent with the key
in x-goog-api-key (or ?key=), a JSON body {"contents":[{"role","parts":[{"text"}]}],
"generationConfig":{"responseMimeType","responseSchema",...}}, and answers
{"candidates":[{"content":{"role":"model","parts":[{"text": "<JSON>"}]},
"finishReason":"STOP","index":0}],"usageMetadata":{...},"modelVersion":...}. Errors
look like Google's: {"error":{"code","message","status"}}.

What it answers is scripted: FakeGemini.script is a list of steps consumed one per
request (the last one repeats): "ok" (a valid rating), "429" (RESOURCE_EXHAUSTED with
Retry-After: 1), "500", "garbage" (200 with a body that is not JSON), "bad_rating" (200,
valid envelope, rating 150), ("slow", seconds) (sleeps, then "ok"). Every request is
recorded (path, headers, parsed body, monotonic time) in FakeGemini.requests.

Run alone: python3 tests/api/fake_gemini.py PORT
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = "test-gemini-key-0123456789"
RATING = {"rating": 78, "reasoning": "Clear structure; quantify more results.",
          "strengths": ["clear layout", "relevant experience"],
          "improvements": ["add metrics", "shorten the summary"]}


def envelope(text):
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 40,
                              "totalTokenCount": 140},
            "modelVersion": "fake-gemini"}


class FakeGemini:
    def __init__(self):
        self.script = ["ok"]
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, obj=None, raw=None, headers=()):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def error(self, code, status, message, headers=()):
                self.reply(code, {"error": {"code": code, "message": message,
                                            "status": status}}, headers=headers)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body, "t": time.monotonic()})
                    step = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                if not (self.path.startswith("/v1beta/models/") and
                        self.path.split("?")[0].endswith(":generateContent")):
                    return self.error(404, "NOT_FOUND", "no such method")
                if self.headers.get("x-goog-api-key") != KEY:
                    return self.error(400, "INVALID_ARGUMENT", "API key not valid.")
                gen = (body or {}).get("generationConfig") or {}
                if (not isinstance(body, dict) or not body.get("contents") or
                        gen.get("responseMimeType") != "application/json" or
                        "responseSchema" not in gen):
                    return self.error(400, "INVALID_ARGUMENT", "bad request body")
                if isinstance(step, tuple) and step[0] == "slow":
                    time.sleep(step[1])
                    step = "ok"
                if step == "ok":
                    return self.reply(200, envelope(json.dumps(RATING)))
                if step == "429":
                    return self.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted",
                                      headers=[("Retry-After", "1")])
                if step == "500":
                    return self.error(500, "INTERNAL", "Internal error encountered.")
                if step == "garbage":
                    return self.reply(200, raw=b"<html>definitely not json")
                if step == "bad_rating":
                    return self.reply(200, envelope(json.dumps(dict(RATING, rating=150))))
                return self.error(500, "INTERNAL", "unknown script step %r" % (step,))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/v1beta" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    f = FakeGemini()
    f.server.server_close()
    f.server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), f.server.RequestHandlerClass)
    print("fake generateContent on http://127.0.0.1:%s/v1beta" % sys.argv[1], flush=True)
    f.server.serve_forever()
