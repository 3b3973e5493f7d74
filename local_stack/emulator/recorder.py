"""Every signed AWS request the emulator answers, kept as the facts IAM would judge it on.

The emulator's WSGI application is wrapped (``RecordingApp``): for each request signed with
SigV4 it keeps the signing service, method, path, query, the headers that name an operation
or a caller, and the body (not for S3, whose bodies are the objects themselves). Failed
requests count too: AWS checks the permission before it answers. ``iam_policies.calls``
turns these into IAM actions and resource ARNs. Requests are path-style (the emulator's).

Callers are told apart by their User-Agent: Terraform's AWS provider names itself, and the
operator command line adds ``mlops/<command>``.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

# Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sagemaker/aws4_request, ...
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
KEPT_HEADERS = ("content-type", "user-agent", "x-amz-target", "x-amz-copy-source")


@dataclass(frozen=True)
class RecordedRequest:
    service: str  # the SigV4 signing name: "monitoring" for CloudWatch, "apigateway", ...
    region: str
    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # KEPT_HEADERS only, lowercase names
    body: bytes

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


class CallRecorder:
    """The requests seen so far, in order; safe to read while the server answers more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []

    def add(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def mark(self) -> int:
        """A position to read from later (``since``)."""
        with self._lock:
            return len(self._requests)

    def since(self, mark: int = 0) -> list[RecordedRequest]:
        with self._lock:
            return self._requests[mark:]


class RecordingApp:
    """WSGI middleware: hands every request on unchanged and records the signed ones."""

    def __init__(self, app: Callable, recorder: CallRecorder):
        self.app, self.recorder = app, recorder

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:
            return self.app(environ, start_response)
        body = b""
        if scope["service"] != "s3":
            body = read_body(environ)
        answer = self.app(environ, start_response)
        raw_path = environ.get("RAW_URI", environ.get("PATH_INFO", "")).split("?")[0]
        self.recorder.add(
            RecordedRequest(
                service=scope["service"],
                region=scope["region"],
                method=environ["REQUEST_METHOD"],
                path=unquote(raw_path),
                query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
                headers=kept_headers(environ),
                body=body,
            )
        )
        return answer


def kept_headers(environ: dict) -> dict[str, str]:
    """KEPT_HEADERS of a WSGI environ (Content-Type has no HTTP_ prefix there)."""
    found = {"content-type": environ["CONTENT_TYPE"]} if environ.get("CONTENT_TYPE") else {}
    for name in KEPT_HEADERS:
        if (key := "HTTP_" + name.upper().replace("-", "_")) in environ:
            found[name] = environ[key]
    return found


def read_body(environ: dict) -> bytes:
    """The request body, put back so the application still reads all of it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:  # nothing announced (or chunked): left for the application to read
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body
