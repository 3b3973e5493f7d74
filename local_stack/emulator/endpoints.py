"""Local mode's endpoints: InvokeEndpoint answers with the model the endpoint's current
configuration names, served on this machine.

When an endpoint is created or updated while local mode is on (in the background, as SageMaker
loads a model before the endpoint is InService), or else on the first call to a variant, its
model's ``model.tar.gz`` (the model's ModelDataUrl, or its model package's) is downloaded from
the emulator's S3 and served by ``python -m local_stack.serving.endpoint`` in a process of its
own: the SageMaker PyTorch serving toolkit and TorchServe, with the model's container
environment (its model server settings excepted: this machine's CPUs choose them) and the
emulator's address. A call waits until the model is loaded. When UpdateEndpoint has changed the
configuration, the old server stops and the new model's starts; DeleteEndpoint stops it. The
request goes to the server's InvokeEndpoint route as is (body, ContentType, Accept), and its
answer comes back as SageMaker gives it: the model's answer, or ``ModelError`` (424) with the
model's status and message.

The toolkit allows one TorchServe per host: one variant at a time is served on TorchServe, and
any other that must answer meanwhile (a second endpoint, a second variant) on the toolkit's
handler service in its server's process, without TorchServe (``--in-process``).
``LocalEndpoints.model_server = "handler-service"`` serves every variant that way (the tests
do, where another test's TorchServe may be running).
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from local_stack.emulator.training import Endpoint, host_environment
from local_stack.ports import free_port

logger = logging.getLogger(__name__)

# The repository root: the serving module runs from it.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
MODEL_SERVERS = ("torchserve", "handler-service")
# What the local server sets itself from this machine: the instance's settings do not apply.
LOCAL_SETTINGS = frozenset(
    {
        "SAGEMAKER_PROGRAM",
        "SAGEMAKER_SUBMIT_DIRECTORY",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
)
STARTUP_TIMEOUT_S = 180.0
INVOKE_TIMEOUT_S = 60.0  # InvokeEndpoint's own limit on the container's answer


class InvokeEndpointError(Exception):
    """An InvokeEndpoint error answer: its status, error code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": self.code,
            "status": str(self.status),  # moto's responses take their status from here
        }
        return self.status, headers, json.dumps({"message": self.message}).encode()


def unknown_endpoint(name: str, account: str) -> InvokeEndpointError:
    return InvokeEndpointError(
        400, "ValidationError", f"Endpoint {name} of account {account} not found."
    )


@dataclass(frozen=True)
class Variant:
    """What serves one production variant: its endpoint, name and model."""

    endpoint_name: str
    name: str
    config_name: str
    model_data_url: str
    environment: dict[str, str] = field(hash=False, compare=False)


@dataclass(eq=False)
class ModelServerProcess:
    """``python -m local_stack.serving.endpoint`` serving one variant's model; once stopped,
    it never starts (a stop may come while another thread starts it)."""

    variant: Variant
    in_process: bool
    work_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "model-server.log"

    def start(self, archive: Path, endpoint: Endpoint, timeout: float) -> None:
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
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    command,
                    cwd=self.work_dir,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its TorchServe stops with it
                )
        self._wait_until_ready(timeout)

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
        self.stop()
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

    def invoke(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            f"{self.url}/endpoints/{self.variant.endpoint_name}/invocations",
            data=body,
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_S) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except (urllib.error.URLError, OSError) as error:
            raise InvokeEndpointError(
                500, "InternalFailure", f"the local model server did not answer: {error}"
            ) from None

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the front stops its TorchServe
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def variant_of(backend, endpoint_name: str, target: str | None) -> Variant:
    """The production variant a request goes to: ``target`` (InvokeEndpoint's TargetVariant),
    or one drawn by the variants' weights, as SageMaker routes traffic."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise unknown_endpoint(endpoint_name, backend.account_id)
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    variants = config.production_variants
    if target is not None:
        chosen = next((v for v in variants if v["VariantName"] == target), None)
        if chosen is None:
            raise InvokeEndpointError(
                400,
                "ValidationError",
                f"Variant {target} not found for endpoint {endpoint_name}.",
            )
    else:
        weights = [float(v.get("InitialVariantWeight", 1.0)) for v in variants]
        chosen = random.choices(variants, weights=weights)[0]
    url, environment = model_source(backend, chosen["ModelName"])
    return Variant(
        endpoint_name, chosen["VariantName"], endpoint.endpoint_config_name, url, environment
    )


def model_source(backend, model_name: str) -> tuple[str, dict[str, str]]:
    """The model's ModelDataUrl (its package's, for a model made from the registry) and the
    container environment, the model's own over the package's."""
    model = backend.describe_model(model_name)
    container = model.primary_container or (model.containers or [{}])[0]
    environment = dict(container.get("Environment") or {})
    url = container.get("ModelDataUrl")
    if url is None and container.get("ModelPackageName"):
        package = backend.describe_model_package(container["ModelPackageName"])
        packaged = package.inference_specification["Containers"][0]
        url = packaged.get("ModelDataUrl")
        environment = {**(packaged.get("Environment") or {}), **environment}
    if not url:
        raise InvokeEndpointError(
            400, "ValidationError", f"model {model_name} has no model data to serve"
        )
    served = {
        key: str(value)
        for key, value in environment.items()
        if key not in LOCAL_SETTINGS and not key.startswith("SAGEMAKER_TS_")
    }
    return url, served


@dataclass
class LocalEndpoints:
    """The model servers of the emulator's endpoints, one per variant that has answered."""

    endpoint: Endpoint
    work_dir: Path
    model_server: str = "torchserve"
    startup_timeout_s: float = STARTUP_TIMEOUT_S
    _servers: dict[tuple[str, str], ModelServerProcess] = field(default_factory=dict)
    _starting: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _torchserve: tuple[str, str] | None = None  # the variant TorchServe serves
    _launching: set[ModelServerProcess] = field(default_factory=set)  # loading their model
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(
        self, backend, endpoint_name: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """InvokeEndpoint's answer for ``endpoint_name`` of ``backend`` (moto's SageMaker);
        ``headers`` looked up without regard to case, as HTTP's are."""
        try:
            variant = variant_of(
                backend, endpoint_name, headers.get("X-Amzn-SageMaker-Target-Variant")
            )
            server = self._server_for(variant)
            forwarded = {
                "Content-Type": headers.get("Content-Type") or "application/octet-stream",
                "Accept": headers.get("Accept") or "application/json",
            }
            status, answer_headers, answer = server.invoke(body, forwarded)
        except InvokeEndpointError as failure:
            return failure.answer()
        kept = {
            key: value
            for key, value in answer_headers.items()
            if key.lower() in ("content-type", "x-amzn-errortype")
        }
        kept["x-Amzn-Invoked-Production-Variant"] = variant.name
        kept["status"] = str(status)
        return status, kept, answer

    def endpoint_changed(self, backend, endpoint_name: str) -> None:
        """CreateEndpoint or UpdateEndpoint: each variant's model loads now, in the
        background, as SageMaker loads it before the endpoint is InService; a call that comes
        meanwhile waits for it. A model that cannot load is said in the log, and the next call
        tries again and answers why."""

        def load() -> None:
            endpoint = backend.endpoints.get(endpoint_name)
            if endpoint is None:
                return
            config = backend.endpoint_configs[endpoint.endpoint_config_name]
            for chosen in config.production_variants:
                try:
                    self._server_for(variant_of(backend, endpoint_name, chosen["VariantName"]))
                except InvokeEndpointError as error:
                    logger.warning("local mode: %s", error.message)

        threading.Thread(target=load, daemon=True).start()

    def endpoint_deleted(self, endpoint_name: str) -> None:
        with self._lock:
            gone = [key for key in self._servers if key[0] == endpoint_name]
            servers = [(key, self._servers.pop(key)) for key in gone]
        for key, server in servers:
            self._stopped(key, server)

    def _server_for(self, variant: Variant) -> ModelServerProcess:
        key = (variant.endpoint_name, variant.name)
        with self._lock:
            starting = self._starting.setdefault(key, threading.Lock())
        with starting:  # one start per variant; other endpoints' calls go on meanwhile
            with self._lock:
                current = self._servers.get(key)
            if current is not None and current.variant == variant:
                return current
            if current is not None:
                logger.info(
                    "local mode: endpoint %s now serves %s (configuration %s)",
                    variant.endpoint_name,
                    variant.model_data_url,
                    variant.config_name,
                )
                self._stopped(key, self._forget(key))
            server = self._start(variant)
            with self._lock:
                self._servers[key] = server
            return server

    def _start(self, variant: Variant) -> ModelServerProcess:
        key = (variant.endpoint_name, variant.name)
        with self._lock:  # TorchServe is one variant's at a time: taken before it starts
            in_process = self.model_server == "handler-service" or self._torchserve not in (
                None,
                key,
            )
            if not in_process:
                self._torchserve = key
        self.work_dir.mkdir(parents=True, exist_ok=True)
        server = ModelServerProcess(
            variant, in_process, Path(tempfile.mkdtemp(prefix="endpoint-", dir=self.work_dir))
        )
        logger.info(
            "local mode: serving endpoint %s variant %s (%s) on %s",
            variant.endpoint_name,
            variant.name,
            variant.model_data_url,
            "the handler service" if in_process else "TorchServe",
        )
        with self._lock:
            self._launching.add(server)
        try:
            archive = server.work_dir / "model.tar.gz"
            self._download(variant, archive)
            server.start(archive, self.endpoint, self.startup_timeout_s)
        except BaseException:
            self._stopped(key, server)
            raise
        finally:
            with self._lock:
                stopped_meanwhile = server not in self._launching
                self._launching.discard(server)
        if stopped_meanwhile:  # stop_all came while it loaded
            self._stopped(key, server)
            raise InvokeEndpointError(503, "ServiceUnavailable", "local mode stopped serving")
        return server

    def _stopped(self, key: tuple[str, str], server: ModelServerProcess) -> None:
        server.stop()
        with self._lock:
            if not server.in_process and self._torchserve == key:
                self._torchserve = None

    def _download(self, variant: Variant, archive: Path) -> None:
        from botocore.exceptions import ClientError

        parts = urlsplit(variant.model_data_url)
        try:
            self.endpoint.client("s3").download_file(
                parts.netloc, parts.path.lstrip("/"), str(archive)
            )
        except ClientError as error:
            raise InvokeEndpointError(
                503,
                "ServiceUnavailable",
                f"endpoint {variant.endpoint_name}'s model data {variant.model_data_url} cannot "
                f"be read: {error}",
            ) from None

    def _forget(self, key: tuple[str, str]) -> ModelServerProcess:
        with self._lock:
            return self._servers.pop(key)

    def stop_all(self) -> None:
        """Stop every model server, those still loading their model included."""
        with self._lock:
            servers, self._servers = list(self._servers.items()), {}
            launching, self._launching = list(self._launching), set()
        for key, server in servers:
            self._stopped(key, server)
        for server in launching:
            server.stop()

    def describe(self) -> list[dict]:
        """What is served now, for logs and tests."""
        with self._lock:
            return [
                {
                    "EndpointName": s.variant.endpoint_name,
                    "VariantName": s.variant.name,
                    "EndpointConfigName": s.variant.config_name,
                    "ModelDataUrl": s.variant.model_data_url,
                    "ModelServer": "handler-service" if s.in_process else "torchserve",
                }
                for s in self._servers.values()
            ]


def patch_moto(local_mode_of) -> None:
    """While the local mode ``local_mode_of`` gives is on, sagemaker-runtime's InvokeEndpoint
    answers through its ``endpoints`` (off: moto's static answer), and CreateEndpoint,
    UpdateEndpoint and DeleteEndpoint load and stop the models."""
    from moto.sagemaker.models import sagemaker_backends
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    def serving(response, then):
        def answered(self):
            answer = response(self)
            if (mode := local_mode_of()) is not None and mode.enabled:
                then(mode.endpoints, self.sagemaker_backend, self._get_param("EndpointName"))
            return answer

        return answered

    SageMakerResponse.create_endpoint = serving(
        SageMakerResponse.create_endpoint, LocalEndpoints.endpoint_changed
    )
    SageMakerResponse.update_endpoint = serving(
        SageMakerResponse.update_endpoint, LocalEndpoints.endpoint_changed
    )
    SageMakerResponse.delete_endpoint = serving(
        SageMakerResponse.delete_endpoint,
        lambda endpoints, _backend, name: endpoints.endpoint_deleted(name),
    )

    original = SageMakerRuntimeResponse.invoke_endpoint

    def invoke_endpoint(self):
        mode = local_mode_of()
        if mode is None or not mode.enabled:
            return original(self)
        name = self.path.split("/")[2]
        body = self.body if isinstance(self.body, bytes) else (self.body or "").encode()
        backend = sagemaker_backends[self.current_account][self.region]
        return mode.endpoints.invoke(backend, name, body, self.headers)

    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint
