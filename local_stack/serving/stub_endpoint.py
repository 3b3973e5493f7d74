"""A loopback HTTP server that answers InvokeEndpoint with a canned answer, as SageMaker
answers: a status, an ``x-amzn-ErrorType`` header for errors, a JSON body, after a delay.

The emulator cannot make sagemaker-runtime fail (moto only returns queued results), so the
Lambda's error paths are driven by this server, and the Lambda benchmark uses it as an
endpoint that costs nothing: real botocore parses its answers exactly as it parses AWS's, and
a delayed answer trips the real read timeout.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubEndpoint:
    def __init__(self):
        self.status, self.error_type, self.body, self.delay = 200, "", {}, 0.0
        self.requests = 0
        self.last_body = b""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                owner.last_body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests += 1
                time.sleep(owner.delay)
                payload = json.dumps(owner.body).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                if owner.error_type:
                    self.send_header("x-amzn-ErrorType", owner.error_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                # A client that gave up first is the timeout being tested.
                with contextlib.suppress(BrokenPipeError):
                    self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, status: int, error_type: str, body: dict, delay: float = 0.0) -> None:
        self.status, self.error_type, self.body, self.delay = status, error_type, body, delay

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
