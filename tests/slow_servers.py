"""Servers that answer too slowly, for the deadlines of reading input."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DrippingServer(ThreadingHTTPServer):
    """Answers any GET with a 200 (an S3 GetObject's shape is enough for botocore) whose body
    arrives a byte every 0.2 s: no socket read ever times out, and the body never ends in
    time (100,000 bytes: over five hours)."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()
                try:
                    for _ in range(100000):
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:  # the reader hung up
                    return

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> DrippingServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def reader_threads_end(name: str, within: float = 5) -> bool:
    """Whether the threads called ``name`` (an abandoned read) end within ``within`` s."""
    until = time.monotonic() + within
    while any(thread.name == name for thread in threading.enumerate()):
        if time.monotonic() > until:
            return False
        time.sleep(0.1)
    return True
