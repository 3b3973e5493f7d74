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

import logging
import random
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from local_stack.emulator.captures import Exchange, TrafficCopies
from local_stack.emulator.model_servers import (
    InvokeEndpointError,
    ModelServer,
    Variant,
    content_type_of,
)
from local_stack.emulator.training import Endpoint
from local_stack.ports import free_port

logger = logging.getLogger(__name__)

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


def unknown_endpoint(name: str, account: str) -> InvokeEndpointError:
    return InvokeEndpointError(
        400, "ValidationError", f"Endpoint {name} of account {account} not found."
    )


def refused_if_asynchronous(backend, endpoint_name: str) -> None:
    """An endpoint configured for asynchronous inference takes InvokeEndpointAsync only
    (developer guide, "Asynchronous inference": its AsyncInferenceConfig "implies that the
    endpoint can only receive asynchronous invocations")."""
    endpoint = backend.endpoints.get(endpoint_name)
    config = backend.endpoint_configs.get(getattr(endpoint, "endpoint_config_name", None))
    if getattr(config, "async_inference_config", None):
        raise InvokeEndpointError(
            400,
            "ValidationError",
            f"Endpoint {endpoint_name} is configured for asynchronous inference: call "
            "InvokeEndpointAsync with the input's S3 location.",
        )


def deleted_while_in_use(what: str) -> InvokeEndpointError:
    """AWS lets a model or configuration go while an endpoint uses it, and keeps serving; the
    emulator serves from them, and says so."""
    return InvokeEndpointError(
        500,
        "InternalFailure",
        f"{what} was deleted while the endpoint uses it: AWS keeps serving, the emulator serves "
        "from it, so update the endpoint to a configuration that exists",
    )


def variant_of(backend, endpoint_name: str, target: str | None) -> Variant:
    """The production variant a request goes to: ``target`` (InvokeEndpoint's TargetVariant),
    or one drawn by the variants' weights, as SageMaker routes traffic."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise unknown_endpoint(endpoint_name, backend.account_id)
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if config is None:
        raise deleted_while_in_use(f"endpoint configuration {endpoint.endpoint_config_name}")
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
        chosen = random.choices(variants, weights=weights if any(weights) else None)[0]
    if chosen["ModelName"] not in backend._models:
        raise deleted_while_in_use(f"model {chosen['ModelName']}")
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


class LocalEndpoints:
    """The model servers of the emulator's endpoints, one per variant, each registered before
    it loads: calls to a loading variant wait for it, a failed one says why at once (until the
    endpoint is created or updated again), and a stop reaches loading servers too."""

    def __init__(self, endpoint: Endpoint, work_dir: Path, startup_timeout_s=STARTUP_TIMEOUT_S):
        self.endpoint, self.work_dir, self.startup_timeout_s = endpoint, work_dir, startup_timeout_s
        self._model_server = "torchserve"
        self._servers: dict[tuple[str, str], ModelServer] = {}
        self._torchserve: ModelServer | None = None  # the one server TorchServe may run
        self._lock = threading.Lock()
        self.copies = TrafficCopies(self, endpoint, model_source)

    @property
    def model_server(self) -> str:
        """``torchserve`` (one variant at a time, the others on the handler service) or
        ``handler-service`` (every variant)."""
        return self._model_server

    @model_server.setter
    def model_server(self, value: str) -> None:
        if value not in MODEL_SERVERS:
            raise ValueError(f"model_server must be one of {MODEL_SERVERS}, not {value!r}")
        self._model_server = value

    def invoke(
        self, backend, endpoint_name: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """InvokeEndpoint's answer for ``endpoint_name`` of ``backend`` (moto's SageMaker);
        ``headers`` looked up without regard to case, as HTTP's are."""
        try:
            refused_if_asynchronous(backend, endpoint_name)
            variant = variant_of(
                backend, endpoint_name, headers.get("X-Amzn-SageMaker-Target-Variant")
            )
            server = self.server_for(variant).wait(self.startup_timeout_s)
            forwarded = {
                "Content-Type": headers.get("Content-Type") or "application/octet-stream",
                "Accept": headers.get("Accept") or "application/json",
            }
            started = time.perf_counter()
            status, answer_headers, answer = server.invoke(body, forwarded)
            latency_us = (time.perf_counter() - started) * 1e6
        except InvokeEndpointError as failure:
            return failure.answer()
        except Exception as error:  # the emulator's own failure: said, never a traceback
            logger.exception("local mode: InvokeEndpoint of %s failed", endpoint_name)
            return InvokeEndpointError(
                500, "InternalFailure", f"the emulator failed: {error}"
            ).answer()
        kept = {
            key: value
            for key, value in answer_headers.items()
            if key.lower() in ("content-type", "x-amzn-errortype")
        }
        if status == 200:
            exchange = Exchange(
                body, forwarded["Content-Type"], answer, content_type_of(kept), latency_us
            )
            inference_id = headers.get("X-Amzn-SageMaker-Inference-Id")
            self.copies.answered(backend, variant, exchange, inference_id)
        kept["x-Amzn-Invoked-Production-Variant"] = variant.name
        kept["status"] = str(status)
        return status, kept, answer

    def endpoint_changed(self, backend, endpoint_name: str) -> None:
        """CreateEndpoint or UpdateEndpoint: each variant's model loads now, in the
        background, as SageMaker loads it before the endpoint is InService."""
        endpoint = backend.endpoints.get(endpoint_name)
        config = backend.endpoint_configs.get(getattr(endpoint, "endpoint_config_name", None))
        if endpoint is None or config is None:
            return
        for chosen in config.production_variants:
            try:
                self.server_for(variant_of(backend, endpoint_name, chosen["VariantName"]), True)
            except InvokeEndpointError as error:
                logger.warning("local mode: %s", error.message)

    def endpoint_deleted(self, endpoint_name: str) -> None:
        with self._lock:
            keys = [key for key in self._servers if key[0] == endpoint_name]
            servers = [self._servers.pop(key) for key in keys]
        for server in servers:
            self._stop(server)

    def server_for(self, variant: Variant, retry_failed: bool = False) -> ModelServer:
        """The variant's server: the one already loading or loaded for this model, or a new
        one, loading in the background (the server it replaces stopped first)."""
        key = (variant.endpoint_name, variant.name)
        with self._lock:
            current = self._servers.get(key)
            reusable = current is not None and current.variant == variant
            if reusable and not (retry_failed and current.failure is not None):
                return current
            server = self._new_server(variant, replacing=current)
            self._servers[key] = server
        threading.Thread(target=self._load, args=(server, current), daemon=True).start()
        return server

    def _new_server(self, variant: Variant, replacing: ModelServer | None) -> ModelServer:
        """Called with the lock held: TorchServe is one server's at a time, taken here."""
        in_process = self._model_server == "handler-service" or self._torchserve not in (
            None,
            replacing,
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="endpoint-", dir=self.work_dir))
        taken = {server.port for server in self._servers.values()}
        port = free_port()
        while port in taken:
            port = free_port()
        server = ModelServer(
            variant, in_process, work_dir, self.work_dir / "logs" / f"{work_dir.name}.log", port
        )
        if not in_process:
            self._torchserve = server
        return server

    def _load(self, server: ModelServer, replaced: ModelServer | None) -> None:
        variant = server.variant
        if replaced is not None:
            logger.info(
                "local mode: endpoint %s now serves %s (configuration %s)",
                variant.endpoint_name,
                variant.model_data_url,
                variant.config_name,
            )
            self._stop(replaced)
        logger.info(
            "local mode: serving endpoint %s variant %s (%s) on %s",
            variant.endpoint_name,
            variant.name,
            variant.model_data_url,
            "the handler service" if server.in_process else "TorchServe",
        )
        try:
            archive = server.work_dir / "model.tar.gz"
            self._download(variant, archive)
            server.start(archive, self.endpoint, self.startup_timeout_s)
        except InvokeEndpointError as error:
            server.fail(error)
        except Exception as error:
            logger.exception("local mode: loading %s failed", variant.model_data_url)
            server.fail(
                InvokeEndpointError(500, "InternalFailure", f"the emulator failed: {error}")
            )
        if server.failure is not None:
            self._release(server)

    def _stop(self, server: ModelServer) -> None:
        server.stop()
        self._release(server)

    def _release(self, server: ModelServer) -> None:
        with self._lock:
            if self._torchserve is server:
                self._torchserve = None

    def _download(self, variant: Variant, archive: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        parts = urlsplit(variant.model_data_url)
        try:
            self.endpoint.client("s3").download_file(
                parts.netloc, parts.path.lstrip("/"), str(archive)
            )
        except (ClientError, BotoCoreError) as error:
            raise InvokeEndpointError(
                503,
                "ServiceUnavailable",
                f"endpoint {variant.endpoint_name}'s model data {variant.model_data_url} cannot "
                f"be read: {error}",
            ) from None

    def stop_all(self) -> None:
        """Stop every model server, those still loading their model included."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            self._stop(server)

    def describe(self) -> list[dict]:
        """What is served now (loaded, loading or failed), for logs and tests."""
        with self._lock:
            servers = list(self._servers.values())
        return [
            {
                "EndpointName": s.variant.endpoint_name,
                "VariantName": s.variant.name,
                "EndpointConfigName": s.variant.config_name,
                "ModelDataUrl": s.variant.model_data_url,
                "ModelServer": "handler-service" if s.in_process else "torchserve",
                "Status": "Failed" if s.failure else "InService" if s.ready.is_set() else "Loading",
            }
            for s in servers
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
        body = self.body or b""  # bytes: the sagemaker_invoke_endpoint shim reads it raw
        backend = sagemaker_backends[self.current_account][self.region]
        return mode.endpoints.invoke(backend, name, body, self.headers)

    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint
