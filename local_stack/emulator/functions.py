"""Local mode's Lambda: Invoke runs the function's deployed code, as the Lambda Python runtime
does, in a process of its own.

Each invocation unpacks the zip of the version invoked (once per code digest), then runs
``function_bootstrap.py`` on this Python with the function's environment variables, the ones
the runtime defines (``AWS_LAMBDA_FUNCTION_NAME``, ``_HANDLER``, ``LAMBDA_TASK_ROOT``...), and
the emulator's address and credentials, so that the code's AWS calls come back here. The event
goes in on stdin. The function's timeout is enforced (its process is killed), and the answer is
Lambda's: the handler's return value, or an error payload with ``X-Amz-Function-Error:
Unhandled``. Its log, framed by the runtime's START, END and REPORT lines, goes to
``/aws/lambda/NAME``, and with ``LogType: Tail`` its last 4 KB to ``X-Amz-Log-Result``.

Every invocation is a cold start (AWS may reuse an environment; code must not count on either),
on this machine's Python with its packages, where AWS runs the function's runtime with its
SDK (tests/parity runs the code on that runtime's versions).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from local_stack.emulator.training import Endpoint, host_environment

logger = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("function_bootstrap.py")
# Invoke's X-Amz-Log-Result: "the last 4 KB of the execution log" (API_Invoke).
LOG_TAIL_BYTES = 4096


@dataclass(frozen=True)
class Invocation:
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed
    log: str

    def log_tail(self) -> str:
        return base64.b64encode(self.log.encode()[-LOG_TAIL_BYTES:]).decode()


def task_root(fn, work_dir: Path) -> Path:
    """The function's code, unpacked once per code digest."""
    root = work_dir / "functions" / fn.code_sha_256.replace("/", "_").replace("+", "-")
    if not root.is_dir():
        scratch = Path(tempfile.mkdtemp(dir=work_dir))
        with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
            archive.extractall(scratch)
        root.parent.mkdir(parents=True, exist_ok=True)
        try:
            scratch.rename(root)  # whole or not at all
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            if not root.is_dir():  # else another invocation unpacked it first
                raise
    return root


def log_stream_name(fn, now: datetime) -> str:
    return f"{now:%Y/%m/%d}/[{version_of(fn)}]{uuid.uuid4().hex}"


def version_of(fn) -> str:
    return "$LATEST" if str(fn.version) in ("0", "$LATEST") else str(fn.version)


def function_environment(
    fn, endpoint: Endpoint, root: Path, request_id: str, stream: str, deadline_ms: int
) -> dict[str, str]:
    """The deployment's variables, then the runtime's (configuration-envvars.html), which a
    deployment cannot override."""
    return {
        **host_environment(),
        **{k: str(v) for k, v in fn.environment_vars.items()},
        **endpoint.environment(),
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version_of(fn),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "LAMBDA_TASK_ROOT": str(root),
        "_HANDLER": fn.handler,
        "TZ": ":UTC",
        "_LOCAL_REQUEST_ID": request_id,
        "_LOCAL_INVOKED_FUNCTION_ARN": fn.function_arn,
        "_LOCAL_DEADLINE_MS": str(deadline_ms),
    }


@dataclass(frozen=True)
class Run:
    """What the function's process left: its output, and its outcome file's content."""

    output: str
    outcome: dict
    timed_out: bool
    exit_status: int | None
    duration_ms: float


def run_bootstrap(
    fn, event: bytes, environment: dict[str, str], root: Path, work_dir: Path, started_process
) -> Run:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        result_file = Path(scratch) / "result.json"
        process = subprocess.Popen(
            [sys.executable, "-I", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**environment, "_LOCAL_RESULT_FILE": str(result_file)},
            start_new_session=True,  # its children die with it
        )
        started_process(process)
        try:
            output, _ = process.communicate(event, timeout=float(fn.timeout))
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            timed_out = True
        outcome = json.loads(result_file.read_text()) if result_file.is_file() else {}
    duration_ms = (time.monotonic() - started) * 1000
    text = output.decode(errors="replace")
    return Run(text, outcome, timed_out, process.returncode, duration_ms)


def failure_of(run: Run, fn, request_id: str) -> tuple[str, dict] | None:
    """The log line and error payload Lambda gives for a run that ended without an outcome."""
    if run.timed_out:
        seconds = f"{float(fn.timeout):.2f}"
        message = f"RequestId: {request_id} Error: Task timed out after {seconds} seconds"
        return message, {"errorType": "Sandbox.Timedout", "errorMessage": message}
    if not run.outcome:
        exited = f"Runtime exited with error: exit status {run.exit_status}"
        message = f"RequestId: {request_id} Error: {exited}"
        return message, {"errorType": "Runtime.ExitError", "errorMessage": message}
    return None


def invoke(
    fn,
    event: bytes,
    endpoint: Endpoint,
    work_dir: Path,
    started_process: Callable[[subprocess.Popen], None] = lambda _: None,
) -> Invocation:
    """Run ``fn`` (a moto LambdaFunction, the version invoked) on ``event``, a JSON document;
    ``started_process`` hears of the process that runs it."""
    request_id = str(uuid.uuid4())
    stream = log_stream_name(fn, datetime.now(UTC))
    root = task_root(fn, work_dir)
    deadline_ms = int(time.time() * 1000) + int(fn.timeout) * 1000
    environment = function_environment(fn, endpoint, root, request_id, stream, deadline_ms)
    run = run_bootstrap(fn, event, environment, root, work_dir, started_process)
    body, outcome = run.output, run.outcome
    if failed := failure_of(run, fn, request_id):
        body += f"{failed[0]}\n"
        outcome = {"error": failed[1]}
    log = (
        f"START RequestId: {request_id} Version: {version_of(fn)}\n"
        + body
        + f"END RequestId: {request_id}\n"
        + f"REPORT RequestId: {request_id}\tDuration: {run.duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(run.duration_ms)} ms\tMemory Size: {fn.memory_size} MB\t"
        f"Max Memory Used: {run.outcome.get('max_memory_mb', 0)} MB\t"
        f"Init Duration: {run.outcome.get('init_ms', 0):.2f} ms\t\n"  # each one a cold start
    )
    write_log(fn, stream, log)
    if "error" in outcome:
        return Invocation(json.dumps(outcome["error"]).encode(), "Unhandled", log)
    return Invocation(outcome["payload"].encode(), None, log)


def write_log(fn, stream: str, log: str) -> None:
    """The invocation's log lines, as events of a new stream of the function's group."""
    backend = fn.logs_backend
    backend.ensure_log_group(fn.logs_group_name)
    backend.create_log_stream(fn.logs_group_name, stream)
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms, "message": line} for line in log.splitlines() if line]
    backend.put_log_events(fn.logs_group_name, stream, events)


def invocation_payload(body: bytes | str | None) -> bytes:
    """Invoke's payload as bytes, refused as Lambda refuses one that is not JSON."""
    from moto.awslambda.exceptions import LambdaClientError

    payload = (body.encode() if isinstance(body, str) else body) or b"{}"
    try:
        json.loads(payload)
    except ValueError as error:
        raise LambdaClientError(  # API_Invoke: InvalidRequestContentException, 400
            "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from None
    return payload


def patch_moto(local_mode_of: Callable[[], object]) -> None:
    """The Lambda backend the emulator runs (moto's Docker-free one, which echoes the event)
    answers Invoke through ``LocalMode.invoke_function`` while the local mode
    ``local_mode_of`` gives is on."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke_locally(self, function_name, qualifier, body, headers, response_headers):
        mode = local_mode_of()
        if mode is None or not mode.enabled:
            return original(self, function_name, qualifier, body, headers, response_headers)
        fn = self.get_function(function_name, qualifier)  # the version an alias names
        event = invocation_payload(body)
        kind = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            return b""
        invocation = mode.invoke_function(fn, event, asynchronous=kind == "Event")
        if invocation is None:
            return b""
        if invocation.function_error:
            response_headers["x-amz-function-error"] = invocation.function_error
        response_headers["x-amz-log-result"] = invocation.log_tail()  # kept only for Tail
        return invocation.payload

    LambdaSimpleBackend.invoke = invoke_locally
