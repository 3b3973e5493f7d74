"""Handler -> boto3 sagemaker-runtime -> the real serving stack with a tiny trained model."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

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
