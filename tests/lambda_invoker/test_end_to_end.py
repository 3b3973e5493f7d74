"""Handler -> boto3 sagemaker-runtime -> the real serving stack with a tiny trained model."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.client_requests import OK, client_requests
from tests.images import sample_image

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def handler(load_handler, local_endpoint):
    return load_handler(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=local_endpoint.url, MODEL_VERSION="")


@pytest.mark.parametrize(
    ("folder", "breed"), [("002.Afghan_hound", "Afghan hound"), ("004.Akita", "Akita")]
)
def test_handler_classifies_a_generated_image(handler, context, sample_dataset, folder, breed):
    image = base64.b64encode(sample_image(sample_dataset, folder).read_bytes()).decode()
    event = {
        "version": "2.0",
        "requestContext": {},
        "isBase64Encoded": False,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"image": image, "top_k": 3}),
    }
    result = handler.lambda_handler(event, context)
    assert result["statusCode"] == 200, result
    body = json.loads(result["body"])
    assert body["predictions"][0]["breed"] == breed
    assert len(body["predictions"]) == 3
    assert body["endpoint"] == "dog-breeds"
    assert body["model_version"] == "AllTraffic"  # the invoked production variant
    assert body["precision"] == "fp32"  # the shared archive carries no int8 model


def test_model_rejection_reaches_the_caller_as_a_4xx(handler, context):
    """A truncated JPEG has sound headers, so it passes the Lambda's checks and the endpoint's
    header check; decoding fails in the model server, and its 400 comes back."""
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format="JPEG")  # mostly scan data, after the headers
    jpeg = buffer.getvalue()
    truncated = base64.b64encode(jpeg[: len(jpeg) * 4 // 5]).decode()
    result = handler.lambda_handler({"image": truncated}, context)
    assert result["statusCode"] == 400, result
    message = json.loads(result["body"])["error"]["message"]
    assert message.startswith("image is a damaged or truncated image"), message


CLIENT_CASES = client_requests(b"\xff\xd8\xff")  # the names, for the parameter ids


def http_api_event(content_type: str, body: bytes) -> dict:
    """What an HTTP API (payload format 2.0) hands the function: the body base64-encoded, as
    API Gateway does for a body it does not take for text."""
    return {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": content_type} if content_type else {},
        "isBase64Encoded": True,
        "body": base64.b64encode(body).decode(),
    }


@pytest.mark.parametrize("index", range(len(CLIENT_CASES)), ids=[c.name for c in CLIENT_CASES])
def test_the_photo_sent_each_way_a_client_sends_it(handler, context, sample_dataset, index):
    """The cases the endpoint is tested with (tests/client_requests.py), as the HTTP API
    delivers them, through the handler to the real serving stack."""
    photo = sample_image(sample_dataset, "004.Akita").read_bytes()
    case = client_requests(photo)[index]
    result = handler.lambda_handler(http_api_event(case.content_type, case.body), context)
    assert result["statusCode"] == case.status, result
    assert result["headers"]["Content-Type"] == "application/json"
    body = json.loads(result["body"])
    if case.status == OK:
        assert body["predictions"][0]["breed"] == "Akita"
    else:
        assert body["error"]["code"] == case.code
        assert len(body["error"]["message"]) > 10


@pytest.mark.parametrize(
    "body",
    [b"\xff\xd8\xff", b"a photo, really"],
    ids=["a photo", "not a photo"],
)
def test_curl_data_binary_without_a_type_is_read_by_its_bytes(
    handler, context, sample_dataset, body
):
    """curl --data-binary @dog.jpg declares a form; the Lambda goes by the bytes."""
    photo = sample_image(sample_dataset, "004.Akita").read_bytes()
    sent = photo if body == b"\xff\xd8\xff" else body
    event = http_api_event("application/x-www-form-urlencoded", sent)
    result = handler.lambda_handler(event, context)
    expected = 200 if sent is photo else 415
    assert result["statusCode"] == expected, result
