"""S3 answering errors on chosen requests, for the boot script's failure paths.

``S3FaultFront`` is a second HTTP server in front of the test session's emulator: a request
that matches a fault (method and path-style ``bucket/key``) gets S3's error answer (503
SlowDown, 403 AccessDenied...), every other goes to moto's own application, which shares the
in-process emulator's state. So boto3, here or in a child process (point ``AWS_ENDPOINT_URL``
at ``front.url``), sends real requests, retries as it would against S3 and reports what S3
would make it report, with nothing of ours patched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from werkzeug.serving import make_server
from werkzeug.wsgi import get_input_stream

from local_stack.emulator import Emulator
from local_stack.ports import LOOPBACK

MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
}


@dataclass
class Fault:
    method: str
    path: re.Pattern  # searched in "bucket/key"
    status: int
    code: str
    times: int | None  # how many matching requests it answers; None: every one
    hits: int = 0

    def takes(self, method: str, path: str) -> bool:
        if method != self.method or not self.path.search(path):
            return False
        return self.times is None or self.hits < self.times


class S3FaultFront:
    """Serves on a free loopback port while entered; ``fail`` adds a fault."""

    def __init__(self, emulator: Emulator):
        if not emulator.owned:
            pytest.skip(
                "the S3 fault front shares the state of an emulator started in this process; "
                f"{emulator.endpoint_url} is another process's (unset LOCALSTACK_ENDPOINT)"
            )
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.app = DomainDispatcherApplication(create_backend_app)
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.server = make_server(LOOPBACK, 0, self, threaded=True)
        self.url = f"http://{LOOPBACK}:{self.server.server_port}"

    def fail(
        self, method: str, path: str, status: int, code: str, times: int | None = None
    ) -> Fault:
        fault = Fault(method, re.compile(path), status, code, times)
        with self.lock:
            self.faults.append(fault)
        return fault

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = unquote(environ.get("PATH_INFO", "")).lstrip("/")
        with self.lock:
            fault = next((f for f in self.faults if f.takes(method, path)), None)
            if fault is not None:
                fault.hits += 1
        if fault is None:
            return self.app(environ, start_response)
        get_input_stream(environ).read()  # the body is read, as S3 reads it, then refused
        body = b"" if method == "HEAD" else error_document(fault.code)
        start_response(
            f"{fault.status} {fault.code}",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-request-id", "FAULT0000000000"),
            ],
        )
        return [body]

    def __enter__(self) -> S3FaultFront:
        # Polled often: shutdown() waits for the next poll.
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def error_document(code: str) -> bytes:
    """S3's error body (a HEAD answer has none: the client reads the status alone)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{MESSAGES.get(code, code)}</Message>"
        "<RequestId>FAULT0000000000</RequestId><HostId>fault</HostId></Error>"
    ).encode()
