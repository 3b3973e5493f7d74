"""What a real-time endpoint does with a request besides answering it: its metrics, data
capture, and a copy for its shadow variant (developer guide, "Capture data from real-time
endpoint", "Create a shadow test", "Metrics for monitoring Amazon SageMaker AI").

- **Metrics**: each answered request counts one ``Invocations`` and its ``ModelLatency``
  (microseconds, the model server's answer time) in AWS/SageMaker by EndpointName and
  VariantName, the shadow variant's under its own name.

- **Data capture** (the configuration's DataCaptureConfig, EnableCapture): a sampled share
  (InitialSamplingPercentage) of the requests the model answered is written to
  ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl``, one JSON line each:
  ``captureData.endpointInput``/``endpointOutput`` (CaptureOptions: Input, Output) with
  ``observedContentType``, ``mode``, ``data`` and ``encoding`` (the body as text for the
  CaptureContentTypeHeader's JSON or CSV types, else base64), and ``eventMetadata`` with an
  ``eventId``, the ``inferenceTime`` and, when the caller gave one, the ``inferenceId``.
  SageMaker gathers several requests in one file; here each is a file of its own.
- **A shadow variant** (ShadowProductionVariants) gets a copy of the share of requests its
  weight gives against the production variant's (0.5 against 1: half), after the caller has
  its answer, which is the production variant's alone. Its answer is captured under its own
  variant name with the same inferenceId, so the two records pair up ("Create a shadow test":
  capture logs "requests and responses of your production and shadow variants").
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from local_stack.emulator.job_files import kms_encryption, parse_s3_url
from local_stack.emulator.model_servers import InvokeEndpointError, Variant, content_type_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    """One request to a variant and its answer, and how long the model took."""

    body: bytes
    content_type: str
    answer: bytes
    answer_type: str
    latency_us: float = 0.0


def capture_settings(config) -> dict | None:
    settings = getattr(config, "data_capture_config", None) or {}
    return settings if settings.get("EnableCapture") else None


def encoded(body: bytes, content_type: str, settings: dict) -> tuple[str, str]:
    """The body as the capture holds it: text for the configured JSON and CSV types, else
    base64."""
    essence = content_type.split(";")[0].strip().lower()
    types = settings.get("CaptureContentTypeHeader") or {}
    for encoding, key in (("JSON", "JsonContentTypes"), ("CSV", "CsvContentTypes")):
        if essence in {t.lower() for t in types.get(key, [])}:
            try:
                return body.decode("utf-8"), encoding
            except UnicodeDecodeError:
                break
    return base64.b64encode(body).decode(), "BASE64"


def record(settings: dict, exchange: Exchange, inference_id: str | None, when: datetime) -> dict:
    modes = {option.get("CaptureMode") for option in settings.get("CaptureOptions", [])}
    capture = {}
    for mode, key, body, content_type in (
        ("Input", "endpointInput", exchange.body, exchange.content_type),
        ("Output", "endpointOutput", exchange.answer, exchange.answer_type),
    ):
        if mode in modes:
            data, encoding = encoded(body, content_type, settings)
            capture[key] = {
                "observedContentType": content_type,
                "mode": mode.upper(),
                "data": data,
                "encoding": encoding,
            }
    metadata = {
        "eventId": str(uuid.uuid4()),
        "inferenceTime": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if inference_id:
        metadata["inferenceId"] = inference_id
    return {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"}


def capture_location(destination: str, variant: Variant, when: datetime) -> tuple[str, str]:
    bucket, prefix = parse_s3_url(destination)
    prefix = prefix.strip("/")
    key = (
        f"{prefix + '/' if prefix else ''}{variant.endpoint_name}/{variant.name}/"
        f"{when:%Y/%m/%d/%H}/{when:%M-%S-%f}-{uuid.uuid4().hex[:8]}.jsonl"
    )
    return bucket, key


def shadow_share(config) -> tuple[dict, float] | None:
    """The shadow variant and the share of requests it gets, or None."""
    shadows = getattr(config, "shadow_production_variants", None) or []
    if not shadows:
        return None
    production = float(config.production_variants[0].get("InitialVariantWeight", 1.0)) or 1.0
    return shadows[0], min(1.0, float(shadows[0].get("InitialVariantWeight", 1.0)) / production)


class TrafficCopies:
    """Captures and shadow copies of the requests an endpoint answered, made after the answer
    has gone, in a thread of their own. ``model_source(backend, model_name)`` gives a model's
    data URL and environment; ``endpoints`` serves the shadow variant's model."""

    def __init__(self, endpoints, endpoint, model_source):
        self.endpoints, self.endpoint, self.model_source = endpoints, endpoint, model_source

    def answered(self, backend, variant: Variant, exchange: Exchange, inference_id: str | None):
        config = backend.endpoint_configs.get(variant.config_name)
        settings = capture_settings(config)
        share = float(settings.get("InitialSamplingPercentage", 0)) if settings else 0.0
        sampled = random.uniform(0, 100) < share
        shadow = shadow_share(config)
        copied = shadow is not None and random.random() < shadow[1]
        threading.Thread(
            target=self._after,
            args=(backend, variant, exchange, inference_id),
            kwargs={
                "settings": settings if sampled else None,
                "shadow": shadow[0] if copied else None,
            },
            daemon=True,
        ).start()

    def _after(self, backend, variant, exchange, inference_id, settings, shadow) -> None:
        try:
            self._count(variant, exchange)
            if settings is not None:
                self._write(settings, variant, exchange, inference_id)
            if shadow is not None:
                copy = self._shadow_answer(backend, variant, shadow, exchange)
                if copy is not None:
                    self._count(*copy)
                if copy is not None and settings is not None:
                    self._write(settings, copy[0], copy[1], inference_id)
        except Exception:  # the caller has its answer: a lost copy is logged, never raised
            logger.exception("local mode: capture or shadow copy of %s failed", variant.name)

    def _shadow_answer(self, backend, variant: Variant, shadow: dict, exchange: Exchange):
        url, environment = self.model_source(backend, shadow["ModelName"])
        copy = Variant(
            variant.endpoint_name, shadow["VariantName"], variant.config_name, url, environment
        )
        try:
            server = self.endpoints.server_for(copy).wait(self.endpoints.startup_timeout_s)
            started = time.perf_counter()
            status, headers, answer = server.invoke(
                exchange.body,
                {"Content-Type": exchange.content_type, "Accept": exchange.answer_type},
            )
        except InvokeEndpointError as error:
            logger.warning(
                "local mode: shadow variant %s did not answer: %s", copy.name, error.message
            )
            return None
        if status != 200:
            return None
        latency_us = (time.perf_counter() - started) * 1e6
        answer_type = content_type_of(headers)
        return copy, Exchange(exchange.body, exchange.content_type, answer, answer_type, latency_us)

    def _count(self, variant: Variant, exchange: Exchange) -> None:
        dimensions = [
            {"Name": "EndpointName", "Value": variant.endpoint_name},
            {"Name": "VariantName", "Value": variant.name},
        ]
        self.endpoint.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dimensions,
                    "Value": 1.0,
                    "Unit": "None",
                },
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dimensions,
                    "Value": exchange.latency_us,
                    "Unit": "Microseconds",
                },
            ],
        )

    def _write(self, settings: dict, variant: Variant, exchange: Exchange, inference_id) -> None:
        when = datetime.now(UTC)
        bucket, key = capture_location(settings["DestinationS3Uri"], variant, when)
        line = json.dumps(record(settings, exchange, inference_id, when)) + "\n"
        self.endpoint.client("s3").put_object(
            Bucket=bucket,
            Key=key,
            Body=line.encode(),
            **kms_encryption(settings.get("KmsKeyId")),
        )
