"""What the function sends the SageMaker endpoint, and what it makes of the answer: the
predictions, or the endpoint's error mapped to the caller's status (AWS's own message, which
can name the account, the role or the endpoint's ARN, goes to the log only)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from invoker.errors import ApiError
from invoker.events import Request


def endpoint_body(request: Request, image: bytes) -> bytes:
    """The JSON request the endpoint's ``input_fn`` understands."""
    return json.dumps({"image": base64.b64encode(image).decode(), "top_k": request.top_k}).encode()


def _not_a_number(token: str):
    raise ValueError(f"{token} is not a JSON number")


# What the model ran in (ml/inference.py says it in every answer).
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class ModelAnswer:
    predictions: list[dict]
    precision: str | None  # None: the model did not say (an archive older than the label)


def answer_of(endpoint_answer: bytes, top_k: int) -> ModelAnswer:
    """The endpoint's top breeds and the precision it ran in; an answer that is not strict JSON
    (NaN, Infinity), lacks the breeds or names an unknown precision is the model's fault, a
    502."""
    try:
        answer = json.loads(endpoint_answer, parse_constant=_not_a_number)
        predictions = [
            {"breed": p["breed"], "index": p["index"], "probability": p["probability"]}
            for p in answer["predictions"][:top_k]
        ]
        precision = answer.get("precision")
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}")
        return ModelAnswer(predictions, precision)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ApiError(
            502, "model_error", "the endpoint answered with an unexpected body"
        ) from error


# InvokeEndpoint error codes -> (status, code) for the caller.
ENDPOINT_ERRORS = {
    "ThrottlingException": (429, "throttled"),
    "TooManyRequestsException": (429, "throttled"),
    "ServiceUnavailable": (503, "unavailable"),
    "ModelNotReadyException": (503, "unavailable"),
    "InternalFailure": (502, "endpoint_error"),
    "InternalDependencyException": (502, "endpoint_error"),
    "ValidationError": (500, "misconfigured"),
    "AccessDeniedException": (500, "misconfigured"),
}
# What the model itself said about the input (OriginalStatusCode) is passed on as is.
MODEL_INPUT_STATUSES = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}


def model_message(original: str) -> str:
    """The model's own message: ``error.message`` of its JSON error body, or the first line of
    another body (a serving toolkit appends a traceback to a raised error's message)."""
    try:
        return str(json.loads(original)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        lines = original.splitlines()
        return lines[0] if lines else ""


# What the caller is told for each answer code that is not the model's own.
ENDPOINT_MESSAGES = {
    "throttled": "the endpoint is busy; retry with backoff",
    "unavailable": "the endpoint is not ready; retry shortly",
    "endpoint_error": "the endpoint failed to answer",
    "misconfigured": "the function cannot call its endpoint; its log has the details",
}


def endpoint_error(error_response: dict) -> ApiError:
    """Map a botocore ClientError response from InvokeEndpoint to the caller's answer."""
    code = error_response.get("Error", {}).get("Code", "")
    message = error_response.get("Error", {}).get("Message", "") or code
    if code == "ModelError":
        original_status = error_response.get("OriginalStatusCode")
        detail = model_message(error_response.get("OriginalMessage") or "") or "no message"
        if original_status in MODEL_INPUT_STATUSES:
            return ApiError(original_status, MODEL_INPUT_STATUSES[original_status], detail)
        return ApiError(502, "model_error", f"the model failed: {detail}")
    status, api_code = ENDPOINT_ERRORS.get(code, (502, "endpoint_error"))
    return ApiError(status, api_code, ENDPOINT_MESSAGES[api_code], f"{code}: {message}")
