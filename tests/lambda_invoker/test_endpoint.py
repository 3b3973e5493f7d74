"""The request sent to the endpoint, and its answers and errors mapped to the caller's."""

from __future__ import annotations

import base64
import json

import pytest

from invoker.config import DEFAULT_MAX_IMAGE_BYTES, MAX_INVOKE_BODY_BYTES
from invoker.endpoint import ModelAnswer, answer_of, endpoint_body, endpoint_error
from invoker.errors import ApiError
from invoker.events import Request
from tests.images import TINY_JPEG

pytestmark = pytest.mark.unit

JPEG = TINY_JPEG


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def api_error(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def test_endpoint_body_carries_image_and_top_k():
    request = Request("image", 3, image=JPEG)
    body = json.loads(endpoint_body(request, JPEG))
    assert body == {"image": b64(JPEG), "top_k": 3}


def test_predictions_are_trimmed_to_top_k_and_the_precision_kept():
    answer = json.dumps(
        {
            "predictions": [
                {"breed": "Akita", "index": 3, "probability": 0.9},
                {"breed": "Boxer", "index": 33, "probability": 0.1},
            ],
            "precision": "int8",
        }
    )
    assert answer_of(answer.encode(), 1) == ModelAnswer(
        [{"breed": "Akita", "index": 3, "probability": 0.9}], "int8"
    )
    assert api_error(lambda: answer_of(b"[1,2]", 1)).status == 502


def test_an_answer_without_a_precision_has_none():
    answer = json.dumps({"predictions": [{"breed": "Akita", "index": 3, "probability": 0.9}]})
    assert answer_of(answer.encode(), 1).precision is None


@pytest.mark.parametrize("precision", ["fp16", 8, ["int8"], ""])
def test_an_unknown_precision_is_the_models_fault(precision):
    answer = {"predictions": [], "precision": precision}
    assert api_error(lambda: answer_of(json.dumps(answer).encode(), 1)).status == 502


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            {
                "Error": {"Code": "ModelError", "Message": "x"},
                "OriginalStatusCode": 400,
                "OriginalMessage": "request body is not an image\nTraceback...",
            },
            400,
            "bad_request",
        ),
        (
            {"Error": {"Code": "ModelError"}, "OriginalStatusCode": 415, "OriginalMessage": "no"},
            415,
            "unsupported_media_type",
        ),
        (
            {
                "Error": {"Code": "ModelError"},
                "OriginalStatusCode": 413,
                "OriginalMessage": json.dumps(
                    {"error": {"code": "payload_too_large", "message": "33 images"}}
                ),
            },
            413,
            "payload_too_large",
        ),
        (
            {"Error": {"Code": "ModelError"}, "OriginalStatusCode": 500, "OriginalMessage": "boom"},
            502,
            "model_error",
        ),
        ({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, 429, "throttled"),
        ({"Error": {"Code": "ServiceUnavailable"}}, 503, "unavailable"),
        ({"Error": {"Code": "ModelNotReadyException"}}, 503, "unavailable"),
        (
            {"Error": {"Code": "ValidationError", "Message": "Endpoint x not found"}},
            500,
            "misconfigured",
        ),
        ({"Error": {"Code": "AccessDeniedException"}}, 500, "misconfigured"),
        ({"Error": {"Code": "InternalFailure"}}, 502, "endpoint_error"),
        ({"Error": {"Code": "SomethingNew"}}, 502, "endpoint_error"),
    ],
)
def test_endpoint_errors_map_to_honest_statuses(error, status, code):
    mapped = endpoint_error(error)
    assert (mapped.status, mapped.code) == (status, code)
    assert "Traceback" not in mapped.message
    assert "{" not in mapped.message  # the model's message, not its JSON body


def test_the_largest_image_fits_invoke_endpoints_body_limit():
    image = JPEG + b"\x00" * (DEFAULT_MAX_IMAGE_BYTES - len(JPEG))
    body = endpoint_body(Request("image", 133, image=image), image)
    assert len(body) <= MAX_INVOKE_BODY_BYTES
