"""Handler -> boto3 sagemaker-runtime -> the real serving stack with a tiny trained model."""

from __future__ import annotations

import base64
import json

import pytest

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


def test_model_rejection_reaches_the_caller_as_a_4xx(handler, context):
    """A JPEG header on garbage passes the Lambda's checks; the model's 400 comes back."""
    fake = base64.b64encode(b"\xff\xd8\xff\xe0" + b"garbage" * 20).decode()
    result = handler.lambda_handler({"image": fake}, context)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["message"].startswith("image is a damaged")
