"""Asynchronous inference on the emulator: InvokeEndpointAsync checked as SageMaker checks it
and, with local mode on, served by the endpoint's model.

What SageMaker documents, and this does (API_runtime_InvokeEndpointAsync; developer guide,
"Asynchronous inference", "Check prediction results", "Monitor asynchronous endpoint"):

- the call names an endpoint whose configuration has an AsyncInferenceConfig (an unknown
  endpoint is a ValidationError, as InvokeEndpoint's), the input by its S3 location, an
  InferenceId (or gets one), RequestTTLSeconds 60-21600 and InvocationTimeoutSeconds 1-3600;
  it is answered at once with 202, the InferenceId, and where the answer or the failure will
  be: ``<S3OutputPath>/<id>.out`` and ``<S3FailurePath>/<id>-error.out`` (the names SageMaker
  gives when the caller names no file);
- the request waits in the endpoint's queue; each is read from S3 and sent to the model
  (the container's own ``/invocations``, ContentType and Accept as given), at most
  MaxConcurrentInvocationsPerInstance at a time (default 1 here: SageMaker "chooses an
  optimal value", unpublished);
- the model's answer is written to the output location and the SuccessTopic gets
  SageMaker's ``InferenceResult`` message; a failure (the model's 4xx/5xx, an input that
  cannot be read, an expired request) writes the model's body (or the reason) to the failure
  location and notifies the ErrorTopic with ``invocationStatus`` Failed and a
  ``failureReason``. AWS documents the success message only; the failure message follows it
  with the fields users report (``failureReason``, ``failureLocation``);
- the backlog metrics of AWS/SageMaker (EndpointName): ApproximateBacklogSize,
  ApproximateBacklogSizePerInstance, ApproximateAgeOfOldestRequest and
  HasBacklogWithoutCapacity each time the backlog changes, and InvocationsProcesssed (sic, as
  the guide spells it) or InvocationFailures (EndpointName, VariantName) for each request.

With local mode off a request is accepted and stays queued (in the backlog metrics too), as on
an endpoint with no instances. moto's own InvokeEndpointAsync answers for any endpoint and
writes a canned answer to a bucket of its own.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from local_stack.emulator.endpoints import LocalEndpoints, unknown_endpoint, variant_of
from local_stack.emulator.job_files import kms_encryption, parse_s3_url
from local_stack.emulator.model_servers import InvokeEndpointError, content_type_of
from local_stack.emulator.training import Endpoint

logger = logging.getLogger(__name__)

OUTPUT_SUFFIX = ".out"
FAILURE_SUFFIX = "-error.out"
REQUEST_TTL_S = (60, 21600, 21600)  # least, most, default
INVOCATION_TIMEOUT_S = (1, 3600, 900)
INFERENCE_ID = re.compile(r"\S[\x20-\x7e]{0,63}")
S3_LOCATION = re.compile(r"s3://([^/]+)/(.+)")
DEFAULT_CONCURRENCY = 1


def validation_error(message: str) -> InvokeEndpointError:
    return InvokeEndpointError(400, "ValidationError", message)


def async_config_of(backend, endpoint_name: str, account: str) -> dict:
    """The AsyncInferenceConfig of the endpoint's configuration."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise unknown_endpoint(endpoint_name, account)
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    found = getattr(config, "async_inference_config", None)
    if not found:
        raise validation_error(
            f"Endpoint {endpoint_name} is not configured for asynchronous inference (its "
            "endpoint configuration has no AsyncInferenceConfig): call InvokeEndpoint."
        )
    return found


def bounded(headers, name: str, limits: tuple[int, int, int]) -> int:
    least, most, default = limits
    value = headers.get(f"X-Amzn-SageMaker-{name}")
    if value is None:
        return default
    if not value.isdigit() or not least <= int(value) <= most:
        raise validation_error(f"{name} must be a whole number from {least} to {most}.")
    return int(value)


@dataclass(frozen=True)
class AsyncRequest:
    endpoint_name: str
    inference_id: str
    input_location: str
    content_type: str
    accept: str
    output_location: str
    failure_location: str | None
    ttl_s: int
    timeout_s: int
    config: dict
    received: datetime = field(default_factory=lambda: datetime.now(UTC))


def request_of(backend, endpoint_name: str, headers, account: str) -> AsyncRequest:
    """The request InvokeEndpointAsync's headers make, or SageMaker's ValidationError."""
    config = async_config_of(backend, endpoint_name, account)
    location = headers.get("X-Amzn-SageMaker-InputLocation") or ""
    if not S3_LOCATION.fullmatch(location) or len(location) > 1024:
        raise validation_error("InputLocation must be an s3://bucket/key URL of at most 1024.")
    inference_id = headers.get("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
    if not INFERENCE_ID.fullmatch(inference_id):
        raise validation_error("InferenceId must be 1 to 64 printable characters.")
    outputs = config.get("OutputConfig", {})
    failure_path = outputs.get("S3FailurePath")
    return AsyncRequest(
        endpoint_name=endpoint_name,
        inference_id=inference_id,
        input_location=location,
        content_type=headers.get("X-Amzn-SageMaker-Content-Type") or "application/octet-stream",
        accept=headers.get("X-Amzn-SageMaker-Accept") or "application/json",
        output_location=f"{outputs['S3OutputPath'].rstrip('/')}/{inference_id}{OUTPUT_SUFFIX}",
        failure_location=(
            f"{failure_path.rstrip('/')}/{inference_id}{FAILURE_SUFFIX}" if failure_path else None
        ),
        ttl_s=bounded(headers, "RequestTTLSeconds", REQUEST_TTL_S),
        timeout_s=bounded(headers, "InvocationTimeoutSeconds", INVOCATION_TIMEOUT_S),
        config=config,
    )


def accepted(request: AsyncRequest) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/json",
        "X-Amzn-SageMaker-OutputLocation": request.output_location,
        "status": "202",  # moto's responses take their status from here
    }
    if request.failure_location:
        headers["X-Amzn-SageMaker-FailureLocation"] = request.failure_location
    return 202, headers, json.dumps({"InferenceId": request.inference_id}).encode()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(request: AsyncRequest, region: str, outcome: dict) -> str:
    """SageMaker's ``InferenceResult`` message; ``outcome`` adds ``invocationStatus``,
    ``responseParameters`` and, on failure, ``failureReason``."""
    return json.dumps(
        {
            "awsRegion": region,
            "eventTime": iso(datetime.now(UTC)),
            "receivedTime": iso(request.received),
            "requestParameters": {
                "contentType": request.content_type,
                "endpointName": request.endpoint_name,
                "inputLocation": request.input_location,
            },
            "inferenceId": request.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
            **outcome,
        }
    )


def failure_reason(status: int, body: bytes) -> str:
    """The reason a model's error answer gets, in SageMaker's words."""
    kind = "client" if status < 500 else "server"
    text = body.decode("utf-8", errors="replace").strip().splitlines()
    message = f' with message "{text[0][:500]}"' if text else ""
    return (
        f"ClientError: Received {kind} error ({status}) from model{message}. See the SageMaker "
        "Endpoint logs in your account for more information."
    )


class RequestFailedError(Exception):
    """A request that ends in the failure location: the reason, and the body written there."""

    def __init__(self, reason: str, body: bytes | None = None):
        super().__init__(reason)
        self.reason, self.body = reason, body if body is not None else reason.encode()


class AsyncQueues:
    """The queue of each asynchronous endpoint, served by local mode's model servers."""

    def __init__(self, endpoints: LocalEndpoints, endpoint: Endpoint):
        self.endpoints, self.endpoint = endpoints, endpoint
        self._lock = threading.Lock()
        self._backlog: dict[str, deque[AsyncRequest]] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._stopped = False

    def submit(self, backend, request: AsyncRequest, serve: bool = True) -> None:
        """Queue ``request``; it is answered in the background, or (``serve`` False: local
        mode is off) it stays queued, in the backlog metrics too."""
        name = request.endpoint_name
        concurrency = request.config.get("ClientConfig", {}).get(
            "MaxConcurrentInvocationsPerInstance", DEFAULT_CONCURRENCY
        )
        with self._lock:
            if self._stopped:
                raise InvokeEndpointError(503, "ServiceUnavailable", "local mode stopped serving")
            self._backlog.setdefault(name, deque()).append(request)
            if serve:
                pool = self._pools.get(name)
                if pool is None:
                    pool = ThreadPoolExecutor(int(concurrency), thread_name_prefix=f"async-{name}")
                    self._pools[name] = pool
                # Under the lock: stop() shuts pools down under it too, never in between.
                pool.submit(self._serve, backend, request)
        self._publish_backlog(backend, name)

    def backlog(self, endpoint_name: str) -> list[AsyncRequest]:
        with self._lock:
            return list(self._backlog.get(endpoint_name, ()))

    def stop(self) -> None:
        """Take no more requests, and drop those not yet started."""
        with self._lock:
            self._stopped = True
            for pool in self._pools.values():
                pool.shutdown(wait=False, cancel_futures=True)

    def wait(self) -> None:
        """Once stopped: wait for the requests under way, then take requests again."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True)
        with self._lock:
            self._backlog.clear()
            self._stopped = False

    def _serve(self, backend, request: AsyncRequest) -> None:
        """Answer ``request``: its output or failure written, its topic told, counted."""
        try:
            try:
                answer, content_type = self._answer(backend, request)
                self._put(request.output_location, answer, content_type, request)
            except RequestFailedError:
                raise
            except Exception as error:  # the emulator's own fault, reported on the request
                logger.exception("local mode: async request %s failed", request.inference_id)
                raise RequestFailedError(f"InternalFailure: the emulator failed: {error}") from None
        except RequestFailedError as failure:
            self._failed(backend, request, failure)
        else:
            self._notify(
                request,
                "SuccessTopic",
                {
                    "invocationStatus": "Completed",
                    "responseParameters": {
                        "contentType": content_type,
                        "outputLocation": request.output_location,
                    },
                },
            )
            self._count(backend, request.endpoint_name, "InvocationsProcesssed")
        finally:
            with self._lock:
                queue = self._backlog.get(request.endpoint_name)
                if queue is not None and request in queue:
                    queue.remove(request)
            self._publish_backlog(backend, request.endpoint_name)

    def _failed(self, backend, request: AsyncRequest, failure: RequestFailedError) -> None:
        logger.info("local mode: async request %s failed: %s", request.inference_id, failure)
        if request.failure_location:
            self._put(request.failure_location, failure.body, "text/plain", request)
        self._notify(
            request,
            "ErrorTopic",
            {
                "invocationStatus": "Failed",
                "failureReason": failure.reason,
                "responseParameters": {"failureLocation": request.failure_location or ""},
            },
        )
        self._count(backend, request.endpoint_name, "InvocationFailures")

    def _answer(self, backend, request: AsyncRequest) -> tuple[bytes, str]:
        """The model's answer and its content type, or why the request failed."""
        waited = (datetime.now(UTC) - request.received).total_seconds()
        if waited > request.ttl_s:
            raise RequestFailedError(
                f"The request expired: it waited {waited:.0f} s, its TTL is {request.ttl_s} s."
            )
        body = self._read_input(request)
        try:
            if self._stopped:
                raise InvokeEndpointError(503, "ServiceUnavailable", "local mode stopped serving")
            variant = variant_of(backend, request.endpoint_name, None)
            server = self.endpoints.server_for(variant).wait(self.endpoints.startup_timeout_s)
            forwarded = {"Content-Type": request.content_type, "Accept": request.accept}
            status, headers, answer = server.invoke(
                body, forwarded, container=True, timeout=request.timeout_s
            )
        except InvokeEndpointError as error:
            raise RequestFailedError(f"ServerError: {error.message}") from None
        if status >= 400:
            raise RequestFailedError(failure_reason(status, answer), answer)
        return answer, content_type_of(headers) or request.accept

    def _read_input(self, request: AsyncRequest) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = S3_LOCATION.fullmatch(request.input_location).groups()
        try:
            return self.endpoint.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise RequestFailedError(
                f"ClientError: Failed to download the input from {request.input_location}: {error}"
            ) from None

    def _put(self, location: str, body: bytes, content_type: str, request: AsyncRequest) -> None:
        bucket, key = parse_s3_url(location)
        key_id = request.config.get("OutputConfig", {}).get("KmsKeyId")
        self.endpoint.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, **kms_encryption(key_id)
        )

    def _notify(self, request: AsyncRequest, topic: str, outcome: dict) -> None:
        arn = request.config.get("OutputConfig", {}).get("NotificationConfig", {}).get(topic)
        if arn:
            message = notification(request, self.endpoint.region, outcome)
            self.endpoint.client("sns").publish(TopicArn=arn, Message=message)

    def _count(self, backend, endpoint_name: str, metric: str) -> None:
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint_name},
            {"Name": "VariantName", "Value": variant_name(backend, endpoint_name)},
        ]
        self.endpoint.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": metric, "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"}
            ],
        )

    def _publish_backlog(self, backend, endpoint_name: str) -> None:
        """The backlog metrics as they are now: requests queued or under way, per instance,
        the oldest's age, and whether there is work without an instance to do it."""
        with self._lock:
            waiting = list(self._backlog.get(endpoint_name, ()))
        instances = instance_count(backend, endpoint_name)
        oldest = min((r.received for r in waiting), default=None)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        values = {
            "ApproximateBacklogSize": (len(waiting), "Count"),
            "ApproximateBacklogSizePerInstance": (len(waiting) / max(instances, 1), "Count"),
            "ApproximateAgeOfOldestRequest": (age, "Seconds"),
            "HasBacklogWithoutCapacity": (float(bool(waiting) and instances == 0), "Count"),
        }
        dimensions = [{"Name": "EndpointName", "Value": endpoint_name}]
        try:
            self.endpoint.client("cloudwatch").put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": unit}
                    for name, (value, unit) in values.items()
                ],
            )
        except Exception:  # metrics are not worth a lost request
            logger.exception(
                "local mode: the backlog metrics of %s were not published", endpoint_name
            )


def variant_name(backend, endpoint_name: str) -> str:
    config = backend.endpoint_configs.get(
        getattr(backend.endpoints.get(endpoint_name), "endpoint_config_name", None)
    )
    variants = getattr(config, "production_variants", None) or [{}]
    return variants[0].get("VariantName", "AllTraffic")


def instance_count(backend, endpoint_name: str) -> int:
    """The endpoint's instances now (its variant's CurrentInstanceCount)."""
    endpoint = backend.endpoints.get(endpoint_name)
    variants = getattr(endpoint, "production_variants", None) or [{}]
    return int(variants[0].get("CurrentInstanceCount", 1) or 0)
