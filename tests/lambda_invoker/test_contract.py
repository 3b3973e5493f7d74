"""The contract between the Lambda and the endpoint, tested on both sides' real code.

- what the Lambda sends, the endpoint's input_fn accepts;
- an image the Lambda lets through its header checks, the endpoint accepts, and the reverse:
  both sides enforce the same pixel and aspect limits;
- every error status the endpoint can answer maps to the Lambda status the README documents.
"""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoker import images
from invoker.config import DEFAULT_MAX_IMAGE_BYTES, Config
from invoker.endpoint import endpoint_body, endpoint_error
from invoker.errors import ApiError, too_large
from invoker.events import Request
from invoker.responses import error_response
from ml import images as endpoint_images
from ml import inference
from tests.images import TINY_JPEG, generated

pytestmark = pytest.mark.unit

# lambda/README.md: the endpoint's status -> the Lambda's (the model's word on the input is
# passed on; anything else the model says is a 502).
DOCUMENTED = {400: 400, 406: 502, 413: 413, 415: 415, 500: 502, 502: 502}


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")


def png_header(width: int, height: int) -> bytes:
    """A well-formed PNG claiming ``width`` x ``height`` whose pixel data is missing: both
    sides read its size without decoding a pixel."""
    size = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", size)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_the_limits_are_the_same_on_both_sides():
    assert images.MAX_IMAGE_PIXELS == endpoint_images.MAX_IMAGE_PIXELS
    assert images.MAX_ASPECT_RATIO == endpoint_images.MAX_ASPECT_RATIO
    assert DEFAULT_MAX_IMAGE_BYTES <= endpoint_images.MAX_IMAGE_BYTES


@pytest.mark.parametrize("top_k", [1, 5, 133])
def test_the_body_the_lambda_sends_is_what_input_fn_accepts(top_k):
    request = Request("image", top_k, image=TINY_JPEG)
    decoded = inference.input_fn(endpoint_body(request, TINY_JPEG), "application/json")
    assert decoded.options == {"top_k": top_k, "include_logits": False}
    assert [(image.width, image.height) for image in decoded.images] == [(8, 8)]
    assert decoded.batch is False


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(width=st.integers(1, 70_000), height=st.integers(1, 70_000))
def test_both_sides_accept_and_refuse_the_same_image_sizes(width, height):
    png = png_header(width, height)
    config = Config(endpoint_name="e")
    try:
        images.check_image(png, config)
        lambda_accepts = True
    except ApiError:
        lambda_accepts = False
    try:
        inference.check_image(png, "image")
        endpoint_accepts = True
    except inference.RequestError:
        endpoint_accepts = False
    assert lambda_accepts == endpoint_accepts, (width, height)


def test_a_real_image_passes_both_sides():
    jpeg = generated(640, 480, "JPEG")
    images.check_image(jpeg, Config(endpoint_name="e"))
    assert inference.check_image(jpeg, "image").pixels == 640 * 480


@pytest.mark.parametrize("status", sorted(inference.ERROR_CODES))
def test_every_endpoint_error_maps_to_the_documented_lambda_status(status):
    answer = inference.ErrorAnswer(status, inference.ERROR_CODES[status], "what went wrong")
    error = endpoint_error(
        {
            "Error": {"Code": "ModelError", "Message": "Received client error"},
            "OriginalStatusCode": status,
            "OriginalMessage": answer.body(),
        }
    )
    assert error.status == DOCUMENTED[status]
    assert "what went wrong" in error.message
    assert "{" not in error.message


def test_the_endpoints_error_body_is_the_lambdas_error_shape():
    answer = inference.ErrorAnswer(413, "payload_too_large", "too big")
    lambda_error = error_response(too_large("too big"), Config("e"))
    assert json.loads(answer.body()) == json.loads(lambda_error["body"])
