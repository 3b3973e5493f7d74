"""One endpoint variant's model server in local mode: ``python -m local_stack.serving.endpoint``
in a process (group) of its own, its InvokeEndpoint route called over loopback.

A server is loading, ready, failed (its failure kept, so that every call says why at once) or
stopped; once stopped it never starts, whichever thread stops it and whenever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.emulator.training import Endpoint, host_environment

logger = logging.getLogger(__name__)

# The repository root: the serving module runs from it.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
INVOKE_TIMEOUT_S = 60.0  # InvokeEndpoint's own limit on the container's answer


class InvokeEndpointError(Exception):
    """An InvokeEndpoint error answer: its status, error code and message (and the model's own
    status, for a ModelError)."""

    def __init__(self, status: int, code: str, message: str, original_status: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.original_status = original_status

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": self.code,
            "status": str(self.status),  # moto's responses take their status from here
        }
        body = {"message": self.message}
        if self.original_status is not None:
            body.update(OriginalStatusCode=self.original_status, OriginalMessage=self.message)
        return self.status, headers, json.dumps(body).encode()


@dataclass(frozen=True)
class Variant:
    """What serves one production variant: its endpoint, name and model."""

    endpoint_name: str
    name: str
    config_name: str
    model_data_url: str
    environment: dict[str, str] = field(hash=False, compare=False)


@dataclass(eq=False)
class ModelServer:
    """The server of one variant's model. ``work_dir`` holds the archive and goes when it
    stops; ``log_path`` stays (a failure names it)."""

    variant: Variant
    in_process: bool
    work_dir: Path
    log_path: Path
    port: int
    process: subprocess.Popen | None = None
    stopped: bool = False
    failure: InvokeEndpointError | None = None
    ready: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, archive: Path, endpoint: Endpoint, timeout: float) -> None:
        """Serve ``archive``; ready once the model is loaded, else failed with the reason."""
        try:
            self._spawn(archive, endpoint, timeout)
            self._wait_until_ready(timeout)
        except InvokeEndpointError as error:
            self.fail(error)
        else:
            self.ready.set()

    def fail(self, error: InvokeEndpointError) -> None:
        self.failure = error
        self.ready.set()
        self.stop()

    def _spawn(self, archive: Path, endpoint: Endpoint, timeout: float) -> None:
        command = [
            sys.executable,
            "-m",
            "local_stack.serving.endpoint",
            str(archive),
            "--port",
            str(self.port),
            "--endpoint-name",
            self.variant.endpoint_name,
            "--startup-timeout",
            str(timeout),
        ]
        if self.in_process:
            command.append("--in-process")
        environment = {
            **host_environment(),
            **self.variant.environment,
            **endpoint.environment(),
            "PYTHONPATH": str(SOURCE_ROOT),
        }
        with self._lock:
            if self.stopped:
                raise InvokeEndpointError(503, "ServiceUnavailable", "local mode stopped serving")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    command,
                    cwd=self.work_dir,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its TorchServe stops with it
                )

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failed(f"it exited with status {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise self._failed(f"the model was not loaded after {timeout:.0f} s")

    def _failed(self, why: str) -> InvokeEndpointError:
        lines = (
            self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        )
        last = next((line for line in reversed(lines) if "error" in line.lower()), "")
        return InvokeEndpointError(
            503,
            "ServiceUnavailable",
            f"the local model server of endpoint {self.variant.endpoint_name} (variant "
            f"{self.variant.name}, {self.variant.model_data_url}) did not start: {why}"
            + (f": {last.strip()[:300]}" if last else "")
            + f"; its log is {self.log_path}",
        )

    def wait(self, timeout: float) -> ModelServer:
        """This server once its model is loaded; its failure raised, or why it is not ready."""
        if not self.ready.wait(timeout):
            raise InvokeEndpointError(
                503, "ServiceUnavailable", f"the model of {self.variant.endpoint_name} is loading"
            )
        if self.failure is not None:
            raise self.failure
        if self.stopped:
            raise InvokeEndpointError(503, "ServiceUnavailable", "local mode stopped serving")
        return self

    def invoke(
        self,
        body: bytes,
        headers: dict[str, str],
        container: bool = False,
        timeout: float = INVOKE_TIMEOUT_S,
    ) -> tuple[int, dict[str, str], bytes]:
        """InvokeEndpoint's answer; ``container``: the container's own ``/invocations``
        answer, as batch transform and asynchronous inference get it (the model's status and
        body, unwrapped); ``timeout``: the seconds the model has to answer."""
        route = (
            "/invocations" if container else f"/endpoints/{self.variant.endpoint_name}/invocations"
        )
        request = urllib.request.Request(
            f"{self.url}{route}",
            data=body,
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except TimeoutError as error:
            raise timed_out() from error
        except (urllib.error.URLError, OSError) as error:
            if isinstance(getattr(error, "reason", None), TimeoutError):
                raise timed_out() from error
            raise InvokeEndpointError(
                500, "InternalFailure", f"the local model server did not answer: {error}"
            ) from None

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            process = self.process
        self.ready.set()
        if process is not None:
            # Always the whole group: the front may be gone and its TorchServe not.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # the front stops its TorchServe
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def content_type_of(headers: dict[str, str]) -> str:
    """The Content-Type of a model server's answer, whatever its headers' case."""
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "")


def timed_out() -> InvokeEndpointError:
    """SageMaker's answer when the container does not answer within 60 s."""
    return InvokeEndpointError(
        424,
        "ModelError",
        "Your invocation timed out while waiting for a response from container primary.",
        original_status=0,
    )
