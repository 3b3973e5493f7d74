"""Lambda entry point: validate the request, invoke the SageMaker endpoint, answer JSON.

Configuration (environment): ``ENDPOINT_NAME`` (required), ``MODEL_VERSION`` (a label for
answers), ``INPUT_BUCKET``/``INPUT_PREFIX`` (enable ``s3_uri`` input under that prefix),
``ASYNC_BUCKET``/``ASYNC_INPUT_PREFIX``/``ASYNC_OUTPUT_PREFIX``/``ASYNC_FAILURE_PREFIX`` (an
asynchronous endpoint: a request is queued and answered 202 with its id, and
``GET /classify/{id}`` or ``{"inference_id": ...}`` says done, failed or pending),
``URL_ALLOWLIST`` (comma-separated https hosts; empty disables ``url`` input),
``METRIC_NAMESPACE`` (each request's log line also an EMF record there: invoker.metrics),
``CORS_ALLOW_ORIGIN`` (no CORS header when empty), ``MAX_IMAGE_BYTES``, and the time budget:
``FUNCTION_TIMEOUT_SECONDS``, ``INVOKE_TIMEOUT_SECONDS`` (per attempt) and
``INVOKE_ATTEMPTS``, which must fit together (``invoker.config.Config.problems``).

Every answer is JSON: a request the handler did not foresee gets a 500 ``internal`` answer and
one logged traceback, never a raw error to the caller.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import time
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from invoker import asynchronous, endpoint, events, images, metrics, responses
from invoker.config import (
    INPUT_CONNECT_TIMEOUT_SECONDS,
    INPUT_DEADLINE_SECONDS,
    INPUT_READ_TIMEOUT_SECONDS,
    Config,
)
from invoker.deadline import DeadlineError, run_within
from invoker.errors import ApiError, too_large


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id, for CloudWatch Logs Insights."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


logger = logging.getLogger("invoker")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(JsonFormatter())
    logger.addHandler(_handler)
    logger.propagate = False

CONFIG = Config.from_env(os.environ)
PROBLEMS = CONFIG.problems()
# total_max_attempts counts the first attempt too (max_attempts would add retries to it), so
# attempts x (connect + read) is the longest the endpoint can hold a request: Config.problems
# checks it fits the function's timeout.
RUNTIME = boto3.client(
    "sagemaker-runtime",
    config=BotoConfig(
        connect_timeout=CONFIG.connect_timeout_seconds,
        read_timeout=CONFIG.invoke_timeout_seconds,
        retries={"mode": "adaptive", "total_max_attempts": CONFIG.invoke_attempts},
    ),
)


@functools.cache
def s3_client():
    """Created on the first s3_uri request only: most requests never pay for it."""
    return boto3.client(
        "s3",
        config=BotoConfig(
            connect_timeout=INPUT_CONNECT_TIMEOUT_SECONDS,
            read_timeout=INPUT_READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1},
        ),
    )


def read_s3_image(request: events.Request) -> bytes:
    """One GetObject, its ContentLength checked before the body is read, and the whole of it
    within INPUT_DEADLINE_SECONDS of wall-clock time, however slowly S3 sends it."""
    opened = []

    def fetch() -> bytes:
        answer = s3_client().get_object(Bucket=request.bucket, Key=request.key)
        opened.append(answer["Body"])
        if answer["ContentLength"] > CONFIG.max_image_bytes:
            answer["Body"].close()
            raise too_large(
                f"the S3 object is {answer['ContentLength']} bytes; the limit is "
                f"{CONFIG.max_image_bytes}: {images.TOO_BIG_ADVICE}"
            )
        return images.read_within(
            answer["Body"].read, CONFIG.max_image_bytes, deadline, time.monotonic, "the S3 object"
        )

    deadline = time.monotonic() + INPUT_DEADLINE_SECONDS
    try:
        body = run_within(fetch, INPUT_DEADLINE_SECONDS, lambda: [cut_short(b) for b in opened])
    except DeadlineError:
        raise ApiError(
            504, "input_timeout", f"the S3 object took longer than {INPUT_DEADLINE_SECONDS} s"
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise ApiError(404, "not_found", "the s3_uri object does not exist") from None
        raise ApiError(
            502, "input_unavailable", f"cannot read the s3_uri object: {code or 'error'}"
        ) from None
    except ReadTimeoutError as error:
        raise ApiError(504, "input_timeout", "S3 did not answer in time") from error
    except BotoCoreError as error:  # connection refused or timed out, DNS, TLS
        raise ApiError(503, "input_unavailable", "S3 cannot be reached", str(error)) from error
    return images.check_image(body, CONFIG, "the S3 object")


def cut_short(body) -> None:
    """End a read in progress on another thread: its next socket read times out at once."""
    with contextlib.suppress(AttributeError, OSError):
        body.set_socket_timeout(0.001)
    with contextlib.suppress(OSError):
        body.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect could leave the allowlist
        return None


def fetch_url(request: events.Request) -> bytes:
    """One GET, verified TLS, no redirects, all of it within INPUT_FETCH_SECONDS (``config``;
    the timeout applies to the connection and to each read)."""
    deadline = time.monotonic() + INPUT_DEADLINE_SECONDS
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request.url, timeout=INPUT_READ_TIMEOUT_SECONDS) as answer:
            # read1: one socket read a call, so a host that drips bytes meets the deadline.
            data = images.read_within(
                answer.read1, CONFIG.max_image_bytes, deadline, time.monotonic, "the url"
            )
    except urllib.error.HTTPError as error:
        raise ApiError(502, "input_unavailable", f"the url answered HTTP {error.code}") from error
    except TimeoutError as error:
        raise ApiError(504, "input_timeout", "the url did not answer in time") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ApiError(504, "input_timeout", "the url did not answer in time") from error
        raise ApiError(502, "input_unavailable", f"cannot fetch the url: {error.reason}") from error
    except OSError as error:
        raise ApiError(502, "input_unavailable", "cannot fetch the url") from error
    return images.check_image(data, CONFIG, "the url's content")


def image_bytes(request: events.Request) -> bytes:
    if request.source == "s3_uri":
        return read_s3_image(request)
    if request.source == "url":
        return fetch_url(request)
    return request.image


def call_endpoint(call, **parameters) -> dict:
    """``call`` (InvokeEndpoint or InvokeEndpointAsync) with its errors as the caller's."""
    try:
        return call(EndpointName=CONFIG.endpoint_name, **parameters)
    except ClientError as error:
        raise endpoint.endpoint_error(error.response) from error
    except (ReadTimeoutError, ConnectTimeoutError) as error:
        raise ApiError(504, "timeout", "the endpoint did not answer in time") from error
    except NoCredentialsError as error:
        raise ApiError(500, "misconfigured", "the function has no AWS credentials") from error
    except BotoCoreError as error:
        raise ApiError(
            502, "endpoint_unreachable", "the endpoint cannot be reached", str(error)
        ) from error


def labels() -> dict:
    return {"endpoint": CONFIG.endpoint_name, "model_version": CONFIG.model_version}


def submit(request: events.Request, image: bytes) -> dict:
    """Queue the request on the asynchronous endpoint: its JSON under the input prefix, then
    InvokeEndpointAsync under a new id, which the caller polls with."""
    inference_id = asynchronous.new_inference_id()
    key = asynchronous.input_key(CONFIG.async_input_prefix, inference_id)
    try:
        s3_client().put_object(
            Bucket=CONFIG.async_bucket,
            Key=key,
            Body=endpoint.endpoint_body(request, image),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as error:
        raise ApiError(
            503, "unavailable", "the request could not be queued; retry shortly", str(error)
        ) from error
    queued = call_endpoint(
        RUNTIME.invoke_endpoint_async,
        InputLocation=f"s3://{CONFIG.async_bucket}/{key}",
        ContentType="application/json",
        Accept="application/json",
        InferenceId=inference_id,
    )
    expected = asynchronous.locations(CONFIG, inference_id)
    # FailureLocation is newer than the API (2023): a runtime's older SDK may not read it.
    given = (queued.get("OutputLocation"), queued.get("FailureLocation", expected[1]))
    if given != expected:  # the status route would look in the wrong place for ever
        raise ApiError(
            502,
            "endpoint_error",
            "the endpoint queued the request but answers where this function does not read",
            f"expected {expected}, SageMaker said {given}",
        )
    return {**asynchronous.accepted(inference_id), **labels()}


# An answer or a failure is a few KB; more is not one the endpoint wrote.
MAX_ANSWER_BYTES = 1_000_000


def stored(key: str, what: str) -> bytes | None:
    """The object at ``key`` of the asynchronous bucket, or None when there is none. Listed
    first: a missing key is then told from a refused one whatever the role's conditions
    (GetObject says 403 for both without s3:ListBucket)."""
    try:
        listed = s3_client().list_objects_v2(Bucket=CONFIG.async_bucket, Prefix=key, MaxKeys=1)
        if not any(item["Key"] == key for item in listed.get("Contents", [])):
            return None
        answer = s3_client().get_object(Bucket=CONFIG.async_bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        code = error.response.get("Error", {}).get("Code", "error")
        raise ApiError(502, "answer_unavailable", f"cannot read the {what}: {code}") from None
    except BotoCoreError as error:
        raise ApiError(503, "answer_unavailable", f"cannot read the {what}", str(error)) from None
    with answer["Body"] as body:
        return body.read(MAX_ANSWER_BYTES)


def status_of(inference_id: str) -> dict:
    """What became of a queued request: done, failed, pending, or a 404."""
    output = stored(asynchronous.output_key(CONFIG.async_output_prefix, inference_id), "answer")
    if output is not None:
        return {**asynchronous.done(inference_id, output), **labels()}
    failure_key = asynchronous.failure_key(CONFIG.async_failure_prefix, inference_id)
    if (failure := stored(failure_key, "failure")) is not None:
        return {**asynchronous.failed(inference_id, failure), **labels()}
    if stored(asynchronous.input_key(CONFIG.async_input_prefix, inference_id), "request") is None:
        raise ApiError(
            404, "not_found", "no request has this inference_id: it never had, or it expired"
        )
    return asynchronous.pending(inference_id)


def classify(event, request_id: str | None = None) -> tuple[int, dict]:
    if PROBLEMS:
        raise ApiError(500, "misconfigured", "the function is misconfigured", "; ".join(PROBLEMS))
    if CONFIG.asynchronous and (inference_id := asynchronous.inference_id_of(event)) is not None:
        return 200, status_of(inference_id)
    request = events.parse_request(event, CONFIG)
    image = image_bytes(request)
    if CONFIG.asynchronous:
        return 202, submit(request, image)
    answer = call_endpoint(
        RUNTIME.invoke_endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=endpoint.endpoint_body(request, image),
        # The endpoint's captures carry it (eventMetadata.inferenceId): a shadow variant's
        # answer pairs with the live one's, and both with this function's log line.
        InferenceId=request_id or uuid.uuid4().hex,
    )
    model = endpoint.answer_of(answer["Body"].read(), request.top_k)
    body = {
        "predictions": model.predictions,
        "endpoint": CONFIG.endpoint_name,
        "model_version": CONFIG.model_version or answer.get("InvokedProductionVariant", ""),
    }
    if model.precision:
        body["precision"] = model.precision
    return 200, body


def lambda_handler(event, context):
    request_id = getattr(context, "aws_request_id", None)
    started = time.perf_counter()
    try:
        status, body = classify(event, request_id)
        result = responses.response(status, body, CONFIG)
    except ApiError as error:
        status, result = error.status, responses.error_response(error, CONFIG)
        fields = {"status": status, "code": error.code, "reason": error.message}
        if error.detail:
            fields["detail"] = error.detail
    except Exception:
        logger.exception("unexpected failure", extra={"request_id": request_id})
        error = ApiError(500, "internal", "the function failed; its log has the details")
        status, result = 500, responses.error_response(error, CONFIG)
        fields = {"status": status, "code": error.code, "reason": "unexpected failure"}
    else:
        predictions = body.get("predictions")
        fields = {"status": status, "top_breed": predictions[0]["breed"] if predictions else None}
        if predictions:
            fields["top_probability"] = predictions[0]["probability"]
        if "inference_id" in body:
            fields["inference_id"] = body["inference_id"]
    fields["duration_ms"] = round(1000 * (time.perf_counter() - started), 1)
    if CONFIG.metric_namespace:
        fields |= metrics.embedded_metrics(
            CONFIG.metric_namespace,
            getattr(context, "function_name", None)
            or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            status,
            fields["duration_ms"],
            fields.get("top_probability"),
            int(time.time() * 1000),
        )
    level = logging.ERROR if status >= 500 else logging.INFO
    logger.log(level, "request handled", extra={"request_id": request_id, "fields": fields})
    return result
