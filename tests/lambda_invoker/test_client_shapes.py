"""The Lambda with a photo in any shape an HTTP client gives it (hypothesis): content types,
charsets and base64 shapes. A photo it accepts reaches the endpoint byte for byte (so the
model answers as for the plain request); anything else is a documented 4xx, as JSON. The
endpoint is a loopback stub that answers at once (local_stack/serving/stub_endpoint.py)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.serving.stub_endpoint import StubEndpoint
from tests.client_requests import base64_shapes
from tests.images import TINY_JPEG, TINY_PNG

pytestmark = pytest.mark.integration

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
DOCUMENTED_REFUSALS = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}


@pytest.fixture(scope="module")
def endpoint():
    server = StubEndpoint()
    server.answer(200, "", {"predictions": [{"breed": "Akita", "index": 3, "probability": 0.9}]})
    yield server
    server.close()


@pytest.fixture
def handler(load_handler, endpoint):
    return load_handler(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=endpoint.url)


def http_event(content_type: str | None, body: bytes) -> dict:
    return {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {} if content_type is None else {"content-type": content_type},
        "isBase64Encoded": True,
        "body": base64.b64encode(body).decode(),
    }


def sent_image(endpoint: StubEndpoint) -> bytes:
    return base64.b64decode(json.loads(endpoint.last_body)["image"])


def check(handler, context, endpoint, event, photo: bytes | None) -> None:
    """``photo``: the bytes that must reach the endpoint, or None for a refusal."""
    result = handler.lambda_handler(event, context)
    assert result["headers"]["Content-Type"] == "application/json"
    body = json.loads(result["body"])
    if photo is not None:
        assert result["statusCode"] == 200, body
        assert sent_image(endpoint) == photo
    else:
        assert DOCUMENTED_REFUSALS.get(result["statusCode"]) == body["error"]["code"], body


CHARSETS = st.sampled_from(
    [
        ("application/json", "utf-8", True),
        ("application/json; charset=UTF-8", "utf-8", True),
        ("text/json", "utf-8", True),
        ("application/json; charset=utf-16", "utf-16", True),
        ('application/json; charset="utf-32"', "utf-32", True),
        ("application/json", "utf-16", False),  # a charset it does not declare
        ("application/json", "utf-32-be", False),
        ("application/json; charset=no-such-charset", "utf-8", False),
        (None, "utf-8", True),  # no type: JSON read as JSON
    ]
)


@SETTINGS
@given(data=st.data())
def test_any_json_shape_reaches_the_endpoint_or_is_refused_as_documented(
    handler, context, endpoint, data
):
    photo = data.draw(st.sampled_from([TINY_JPEG, TINY_PNG]))
    content_type, encoding, readable = data.draw(CHARSETS)
    image = data.draw(base64_shapes(photo))
    body = json.dumps({"image": image, "top_k": 2}).encode(encoding)
    check(handler, context, endpoint, http_event(content_type, body), photo if readable else None)


@SETTINGS
@given(
    content_type=st.one_of(
        st.none(),
        st.sampled_from(
            [
                "image/jpeg",
                "image/jpg",
                "image/pjpeg",
                "image/png",
                "image/webp",
                "image/*",
                "application/octet-stream",
                "application/x-image",
                "application/x-www-form-urlencoded",
                "text/plain",
                "",
            ]
        ),
        st.builds(
            lambda t, p: f"{t}; {p}",
            st.sampled_from(["image/jpeg", "text/plain"]),
            st.text(max_size=20),
        ),
    ),
    photo=st.sampled_from([TINY_JPEG, TINY_PNG]),
)
def test_a_photo_under_any_content_type_reaches_the_endpoint_as_sent(
    handler, context, endpoint, content_type, photo
):
    check(handler, context, endpoint, http_event(content_type, photo), photo)


@SETTINGS
@given(
    content_type=st.one_of(st.none(), st.text(max_size=40)),
    body=st.binary(max_size=80).filter(lambda b: b.lstrip()[:1] not in (b"{", b"[")),
)
def test_bytes_that_are_no_photo_are_refused_as_documented(
    handler, context, endpoint, content_type, body
):
    check(handler, context, endpoint, http_event(content_type, body), None)
