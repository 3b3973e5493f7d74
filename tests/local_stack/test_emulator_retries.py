"""An SDK's retry of a call whose answer was lost gets that answer, not a second run
(``local_stack.emulator.retries``); everything else about a call is judged as AWS judges it."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from local_stack.emulator import Emulator
from local_stack.emulator.retries import attempt_number
from local_stack.ports import LOOPBACK
from tests.local_stack.conftest import direct_clients

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/retries"
CONTAINER = {
    "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312",
    "ModelDataUrl": "s3://retries/model.tar.gz",
}


def read_request(connection: socket.socket) -> bytes:
    """One HTTP request, whole (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture
def losing_proxy(emulator: Emulator) -> Iterator[tuple[str, list[bytes]]]:
    """A proxy to the emulator that loses the emulator's first answer to CreateModel (it
    resets the client's connection instead), as a connection lost under load does; the
    requests it passed on, in order."""
    target = urlsplit(emulator.endpoint_url)
    passed: list[bytes] = []
    lost: list[bytes] = []

    class Relay(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            request = read_request(self.request)
            passed.append(request)
            with socket.create_connection((target.hostname, target.port)) as upstream:
                upstream.sendall(request)
                answer = b""
                while chunk := upstream.recv(65536):  # the emulator closes after its answer
                    answer += chunk
            if b"SageMaker.CreateModel" in request and not lost:
                lost.append(answer)
                self.request.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                return  # closed with linger 0: a reset, the answer never sent
            self.request.sendall(answer)

    server = socketserver.ThreadingTCPServer((LOOPBACK, 0), Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}", passed
    finally:
        server.shutdown()
        server.server_close()


def test_a_create_whose_answer_was_lost_is_answered_on_its_retry_not_run_twice(
    emulator: Emulator, losing_proxy
):
    url, passed = losing_proxy
    name = f"retried-{uuid.uuid4().hex[:8]}"
    through_proxy = Emulator(endpoint_url=url, region=emulator.region)
    created = direct_clients(through_proxy, max_attempts=3)("sagemaker").create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=CONTAINER
    )
    creates = [request for request in passed if b"SageMaker.CreateModel" in request]
    assert len(creates) == 2, "the SDK retried the call whose answer it did not get"
    assert b"attempt=2" in creates[1]
    assert created["ModelArn"].endswith(f":model/{name}")
    described = direct_clients(emulator)("sagemaker").describe_model(ModelName=name)
    assert described["ModelArn"] == created["ModelArn"]


def calls_as(client, invocation: str, attempt: int) -> None:
    """Every request of ``client`` says it is attempt ``attempt`` of the call ``invocation``."""

    def mark(request, **_) -> None:
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max=3"

    client.meta.events.register("before-send.sagemaker.*", mark)


def test_a_new_call_for_a_taken_name_is_still_refused(emulator: Emulator):
    """Only a retried attempt of the same call is answered again: CreateModel for a name that
    is taken is a ValidationException, as SageMaker answers it."""
    name = f"taken-{uuid.uuid4().hex[:8]}"
    call = str(uuid.uuid4())
    first, retried, other = (direct_clients(emulator)("sagemaker") for _ in range(3))
    calls_as(first, call, 1)
    calls_as(retried, call, 2)
    calls_as(other, str(uuid.uuid4()), 1)
    arn = first.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=CONTAINER)
    again = retried.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=CONTAINER)
    assert again == arn | {"ResponseMetadata": again["ResponseMetadata"]}
    with pytest.raises(ClientError) as refused:
        other.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=CONTAINER)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Cannot create already existing model" in refused.value.response["Error"]["Message"]


def test_a_retry_of_a_call_answered_with_an_error_runs_again(emulator: Emulator):
    """The SDK retries throttling and server errors for a new answer: an error is never
    given again."""
    name = f"later-{uuid.uuid4().hex[:8]}"
    call = str(uuid.uuid4())
    first, retried = (direct_clients(emulator)("sagemaker") for _ in range(2))
    calls_as(first, call, 1)
    calls_as(retried, call, 2)
    with pytest.raises(ClientError, match="Could not find model"):
        first.describe_model(ModelName=name)
    direct_clients(emulator)("sagemaker").create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=CONTAINER
    )
    assert retried.describe_model(ModelName=name)["ModelName"] == name


@given(st.text())
def test_any_attempt_header_is_a_number_or_none(header):
    number = attempt_number({"HTTP_AMZ_SDK_REQUEST": header})
    assert number is None or (isinstance(number, int) and number >= 0)


def test_the_attempt_is_read_as_the_sdks_write_it():
    assert attempt_number({"HTTP_AMZ_SDK_REQUEST": "attempt=2; max=25"}) == 2
    assert attempt_number({"HTTP_AMZ_SDK_REQUEST": "ttl=20261208T035108Z; attempt=3; max=5"}) == 3
    assert attempt_number({}) is None
