"""A retried attempt of a call the emulator has already answered gets that answer again.

The AWS SDKs send a call again when its answer did not arrive (the connection reset or closed
first), and mark each attempt: ``amz-sdk-invocation-id`` names the call and
``amz-sdk-request: attempt=N; max=M`` counts its attempts. Under load the emulator's HTTP
server (werkzeug's, which closes the connection after every answer) sometimes loses an answer
it sent: on a 2-core machine with three runs of the deployment tests at once, about one
Terraform provider request in 1,000 to 2,000 was sent again after the emulator had answered
it. For a read that costs nothing. A create runs twice, and its second run is refused ("Cannot
create already existing model"): Terraform's apply fails on a model it made itself.

AWS does not lose answers at that rate, so a retried attempt (N > 1) of a call this emulator
answered with a success gets the same answer again instead of a second run. Nothing else
changes: a first attempt always runs; a call answered with an error runs again on its retry
(the SDK retries throttling and server errors to get a new answer); and a new call (a new
invocation id) with the same input is judged afresh, so SageMaker still refuses a taken name.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from local_stack.emulator.recorder import CREDENTIAL_SCOPE

ATTEMPT = re.compile(r"attempt=(?P<number>\d+)")
# Answers kept for a retry: the newest calls' (an SDK retries within seconds), small ones only.
KEPT_ANSWERS = 512
LARGEST_KEPT_ANSWER = 1 << 20


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def attempt_number(environ: dict) -> int | None:
    """The SDK's attempt number of this request, None where the client does not count them."""
    found = ATTEMPT.search(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
    return int(found["number"]) if found else None


class RetriedAttempts:
    """WSGI middleware: answers a retried attempt of an answered call from the first answer."""

    def __init__(self, app: Callable):
        self.app = app
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        call = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        attempt = attempt_number(environ)
        if not call or attempt is None or _is_s3(environ):  # S3 bodies may be large: passed on
            return self.app(environ, start_response)
        if attempt > 1:
            with self._lock:
                answered = self._answers.get(call)
            if answered is not None:
                start_response(answered.status, answered.headers)
                return [answered.body]
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def keeping_start_response(status, headers, exc_info=None):
            started.append((status, list(headers)))
            return start_response(status, headers, exc_info)

        answer = self.app(environ, keeping_start_response)
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        status, headers = started[-1]
        if status.startswith("2") and len(body) <= LARGEST_KEPT_ANSWER:
            with self._lock:
                self._answers[call] = Answer(status, headers, body)
                while len(self._answers) > KEPT_ANSWERS:
                    self._answers.popitem(last=False)
        return [body]


def _is_s3(environ: dict) -> bool:
    scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return scope is not None and scope["service"] == "s3"
