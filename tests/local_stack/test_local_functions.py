"""Local mode runs Lambda functions: Invoke on the emulator runs the function's deployed code in
a process of its own and answers as Lambda does (API_Invoke; the Python runtime's context and
environment, python-context.html and configuration-envvars.html).

Each test deploys a small function of its own with plain boto3, as any client would.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
import zipfile
from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.emulator import client
from local_stack.emulator.probes import LAMBDA_TRUST_POLICY

pytestmark = [pytest.mark.integration]

APP = """
import json, os, time
import boto3

def handler(event, context):
    print("handling", json.dumps(event, sort_keys=True))
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "raise" in event:
        raise ValueError(event["raise"])
    if "bucket" in event:  # the function's AWS calls reach the emulator it runs on
        boto3.client("s3").head_bucket(Bucket=event["bucket"])
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "handler": os.environ["_HANDLER"],
        "region": os.environ["AWS_REGION"],
        "release": RELEASE,
    }

def not_json(event, context):
    return {1, 2}
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def role(emulator) -> str:
    name = f"local-functions-{uuid.uuid4().hex[:8]}"
    created = client("iam", emulator).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY)
    )
    return created["Role"]["Arn"]


def deploy(emulator, role: str, release: str, **settings) -> str:
    """A new function of ``APP`` whose RELEASE is ``release``; its name."""
    name = f"fn-{uuid.uuid4().hex[:10]}"
    client("lambda", emulator).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zipped(APP + f"RELEASE = {release!r}\n")},
        **settings,
    )
    return name


@pytest.fixture
def function(emulator, role) -> str:
    return deploy(
        emulator,
        role,
        "first",
        Timeout=2,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "woof"}},
    )


def invoke(emulator, name: str, event, **options) -> tuple[dict, object]:
    answer = client("lambda", emulator).invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **options
    )
    payload = answer["Payload"].read()
    return answer, json.loads(payload) if payload else None


def test_invoke_runs_the_deployed_code_with_the_runtimes_context(emulator, local_mode, function):
    answer, payload = invoke(emulator, function, {"breed": "beagle"}, LogType="Tail")
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert payload["event"] == {"breed": "beagle"}
    assert payload["function_name"] == function
    assert (payload["version"], payload["memory"]) == ("$LATEST", "256")
    assert 0 < payload["remaining_ms"] <= 2000
    assert (payload["greeting"], payload["handler"]) == ("woof", "app.handler")
    assert payload["region"] == emulator.region
    log = base64.b64decode(answer["LogResult"]).decode()
    request_id = payload["request_id"]
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert 'handling {"breed": "beagle"}' in log
    assert f"END RequestId: {request_id}\n" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert "\tMemory Size: 256 MB\tMax Memory Used: " in log


def test_the_functions_aws_calls_reach_the_emulator(emulator, local_mode, function):
    bucket = f"fn-bucket-{uuid.uuid4().hex[:8]}"
    client("s3", emulator).create_bucket(Bucket=bucket)
    answer, payload = invoke(emulator, function, {"bucket": bucket})
    assert "FunctionError" not in answer, payload
    answer, payload = invoke(emulator, function, {"bucket": "no-such-bucket-anywhere"})
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ClientError"


def test_a_raise_answers_as_lambda_does(emulator, local_mode, function):
    answer, payload = invoke(emulator, function, {"raise": "no dog here"}, LogType="Tail")
    assert answer["StatusCode"] == 200  # the call succeeded; the function did not
    assert answer["FunctionError"] == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "no dog here")
    assert any('app.py", line' in frame for frame in payload["stackTrace"])
    assert "[ERROR] ValueError: no dog here" in base64.b64decode(answer["LogResult"]).decode()


def test_a_timeout_ends_the_function_and_answers_as_lambda_does(emulator, local_mode, function):
    started = time.monotonic()
    answer, payload = invoke(emulator, function, {"sleep": 30}, LogType="Tail")
    assert time.monotonic() - started < 15
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert "Task timed out after 2.00 seconds" in base64.b64decode(answer["LogResult"]).decode()


def test_runtime_errors_are_the_runtimes(emulator, local_mode, role, function):
    lambda_ = client("lambda", emulator)
    lambda_.update_function_configuration(FunctionName=function, Handler="app.not_json")
    answer, payload = invoke(emulator, function, {})
    assert (answer["FunctionError"], payload["errorType"]) == ("Unhandled", "Runtime.MarshalError")
    lambda_.update_function_configuration(FunctionName=function, Handler="missing.handler")
    answer, payload = invoke(emulator, function, {})
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"].startswith("Unable to import module 'missing':")
    lambda_.update_function_configuration(FunctionName=function, Handler="app.nowhere")
    answer, payload = invoke(emulator, function, {})
    assert payload["errorType"] == "Runtime.HandlerNotFound"


def test_an_alias_runs_the_version_it_names(emulator, local_mode, function):
    lambda_ = client("lambda", emulator)
    version = lambda_.publish_version(FunctionName=function)["Version"]
    lambda_.create_alias(FunctionName=function, Name="live", FunctionVersion=version)
    lambda_.update_function_code(
        FunctionName=function, ZipFile=zipped(APP + "RELEASE = 'second'\n")
    )
    _, live = invoke(emulator, function, {}, Qualifier="live")
    _, latest = invoke(emulator, function, {})
    assert (live["release"], live["version"]) == ("first", version)
    assert (latest["release"], latest["version"]) == ("second", "$LATEST")


def test_an_event_invocation_answers_202_and_runs_after(emulator, local_mode, function):
    answer, payload = invoke(emulator, function, {"breed": "corgi"}, InvocationType="Event")
    assert (answer["StatusCode"], payload) == (202, None)
    logs = client("logs", emulator)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{function}")[
                "logStreams"
            ]
        except logs.exceptions.ResourceNotFoundException:  # made with the first log
            streams = []
        messages = [
            event["message"]
            for stream in streams
            for event in logs.get_log_events(
                logGroupName=f"/aws/lambda/{function}", logStreamName=stream["logStreamName"]
            )["events"]
        ]
        if any('handling {"breed": "corgi"}' in message for message in messages):
            return
        time.sleep(0.5)
    raise AssertionError("the Event invocation never logged")


def bootstraps(work_dir: Path) -> list[psutil.Process]:
    """The invocations running under ``work_dir`` (this emulator's; another run's are not)."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cmdline, cwd = process.info["cmdline"] or [], process.info["cwd"] or ""
        if any("function_bootstrap.py" in part for part in cmdline) and cwd.startswith(
            str(work_dir)
        ):
            found.append(process)
    return found


def test_stopping_local_mode_ends_the_invocations_it_runs(emulator, local_mode, role):
    name = deploy(emulator, role, "slow", Timeout=300)
    invoke(emulator, name, {"sleep": 300}, InvocationType="Event")
    deadline = time.monotonic() + 20
    while not bootstraps(local_mode.work_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert bootstraps(local_mode.work_dir), "the Event invocation never started"
    local_mode.stop_all()
    time.sleep(0.5)
    assert bootstraps(local_mode.work_dir) == []


def test_with_local_mode_off_invoke_is_motos_echo(emulator, function):
    """Off, moto's Docker-free backend answers: the event back, no code run."""
    answer, payload = invoke(emulator, function, {"breed": "beagle"})
    assert (answer["StatusCode"], payload) == (200, {"breed": "beagle"})


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=64))
def test_any_payload_gets_an_answer_or_a_400_naming_it(emulator, local_mode, function, payload):
    try:
        json.loads(payload or b"{}")
    except ValueError:
        with pytest.raises(ClientError) as refused:
            client("lambda", emulator).invoke(FunctionName=function, Payload=payload)
        error = refused.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Error"]["Code"] == "InvalidRequestContentException"
        assert "Could not parse request body into json" in error["Error"]["Message"]
    else:
        answer = client("lambda", emulator).invoke(FunctionName=function, Payload=payload)
        assert answer["StatusCode"] == 200
