"""An asynchronous endpoint's requests and answers, as the caller sees them.

A request is put in S3 under the input prefix as ``<id>.json`` (what the endpoint's
``input_fn`` reads) and queued with InvokeEndpointAsync under that id; the caller gets 202
and the id. SageMaker writes the answer to ``<output prefix><id>.out``, or the model's error
to ``<failure prefix><id>-error.out`` (named after the InferenceId when the caller names no
file; the function checks InvokeEndpointAsync's OutputLocation and FailureLocation say so,
and answers 502 otherwise rather than leave a caller polling for ever), and the status route
reads them: done (the predictions), failed (the reason), pending (the request
is there, its answer is not yet), or 404 (no such request, or it has expired).
"""

from __future__ import annotations

import json
import re
import uuid

from invoker import endpoint
from invoker.errors import ApiError, bad_request
from invoker.events import MAX_TOP_K

# The ids this function gives (uuid4, 32 hex digits): nothing else can name an object.
INFERENCE_ID = re.compile(r"[0-9a-f]{32}")
STATUS_PATH = re.compile(r"/classify/(?P<id>[^/]*)")


def new_inference_id() -> str:
    return uuid.uuid4().hex


def checked_inference_id(value) -> str:
    if not isinstance(value, str) or not INFERENCE_ID.fullmatch(value):
        raise bad_request("inference_id must be the 32 hexadecimal digits a 202 answer gave")
    return value


def inference_id_of(event) -> str | None:
    """The id a status request asks about: ``GET /classify/{id}`` (its path parameter or
    path), or a direct invocation's ``{"inference_id": ...}``; None for any other request."""
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else event.get("httpMethod")
    if method is None:
        return checked_inference_id(event["inference_id"]) if "inference_id" in event else None
    if str(method).upper() != "GET":
        return None
    parameters = event.get("pathParameters")
    if isinstance(parameters, dict) and "id" in parameters:
        return checked_inference_id(parameters["id"])
    match = STATUS_PATH.fullmatch(str(event.get("rawPath") or event.get("path") or ""))
    if match is None:
        raise ApiError(404, "not_found", "GET /classify/{inference_id} is the only GET route")
    return checked_inference_id(match["id"])


def input_key(prefix: str, inference_id: str) -> str:
    return f"{prefix}{inference_id}.json"


def output_key(prefix: str, inference_id: str) -> str:
    return f"{prefix}{inference_id}.out"


def failure_key(prefix: str, inference_id: str) -> str:
    return f"{prefix}{inference_id}-error.out"


def locations(config, inference_id: str) -> tuple[str, str]:
    """Where SageMaker says it will write the answer and the failure (InvokeEndpointAsync's
    OutputLocation and FailureLocation), as this function reads them."""
    bucket = f"s3://{config.async_bucket}/"
    return (
        bucket + output_key(config.async_output_prefix, inference_id),
        bucket + failure_key(config.async_failure_prefix, inference_id),
    )


def accepted(inference_id: str) -> dict:
    return {
        "inference_id": inference_id,
        "status": "pending",
        "status_path": f"/classify/{inference_id}",
    }


def done(inference_id: str, answer: bytes) -> dict:
    """The status of an answered request: the model's predictions (it answered the top_k it
    was sent) and the precision it ran in."""
    model = endpoint.answer_of(answer, MAX_TOP_K)
    found = {"inference_id": inference_id, "status": "done", "predictions": model.predictions}
    if model.precision:
        found["precision"] = model.precision
    return found


def failed(inference_id: str, failure: bytes) -> dict:
    """The status of a failed request: the model's own code and message where its error body
    has them (``{"error": {"code", "message"}}``), else SageMaker's first line."""
    text = failure.decode("utf-8", errors="replace")
    try:
        code = str(json.loads(text)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        code = "model_error"
    message = endpoint.model_message(text)[:500] or "the model gave no reason"
    return {
        "inference_id": inference_id,
        "status": "failed",
        "error": {"code": code, "message": message},
    }


def pending(inference_id: str) -> dict:
    return {"inference_id": inference_id, "status": "pending"}
