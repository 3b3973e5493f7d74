"""{"s3_uri": ...} requests read the object with the endpoint's credentials (the emulator)."""

import io
import json
import time
import uuid

import numpy as np
import pytest
from PIL import Image

from local_stack.emulator import client
from ml import images, inference, payloads
from tests.images import sample_image
from tests.slow_servers import DrippingServer, reader_threads_end

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_s3_client(emulator):
    """The endpoint builds its S3 client once per process; here it must be built under the
    emulator's environment, whatever test of this process built one before."""
    payloads._s3_client.cache_clear()
    yield
    payloads._s3_client.cache_clear()


@pytest.fixture
def bucket(emulator):
    s3 = client("s3", emulator)
    name = f"inference-input-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def test_s3_uri_is_read_and_classified(emulator, bucket, trained_model, sample_dataset):
    image = sample_image(sample_dataset, "004.Akita").read_bytes()
    client("s3", emulator).put_object(Bucket=bucket, Key="in/akita.jpg", Body=image)
    loaded = inference.model_fn(str(trained_model.model_dir))
    request = inference.input_fn(
        json.dumps({"s3_uri": f"s3://{bucket}/in/akita.jpg"}), "application/json"
    )
    body, _ = inference.output_fn(inference.predict_fn(request, loaded), "application/json")
    assert json.loads(body)["predictions"][0]["breed"] == "Akita"


def test_a_missing_s3_object_is_a_400_that_names_no_bucket(emulator, bucket):
    uri = f"s3://{bucket}/in/missing.jpg"
    with pytest.raises(inference.GenericInferenceToolkitError) as raised:
        inference.input_fn(json.dumps({"s3_uri": uri}), "application/json")
    assert raised.value.status_code == 400
    assert raised.value.message == "the s3_uri object does not exist"


def test_an_object_over_the_limit_is_refused_before_its_body_is_read(emulator, bucket):
    big = b"\xff\xd8\xff" + b"\0" * inference.MAX_S3_IMAGE_BYTES
    client("s3", emulator).put_object(Bucket=bucket, Key="in/big.jpg", Body=big)
    with pytest.raises(inference.GenericInferenceToolkitError) as raised:
        inference.input_fn(json.dumps({"s3_uri": f"s3://{bucket}/in/big.jpg"}), "application/json")
    assert raised.value.status_code == 413
    assert f"the limit is {inference.MAX_S3_IMAGE_BYTES}" in raised.value.message


def test_a_photo_too_big_to_send_inline_is_read_by_s3_uri(emulator, bucket):
    """What InvokeEndpoint's 6 MB refuses inline, s3_uri carries: a phone's full-size photo."""
    noise = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG", quality=95)
    photo = buffer.getvalue()
    assert images.MAX_IMAGE_BYTES < len(photo) < inference.MAX_S3_IMAGE_BYTES
    client("s3", emulator).put_object(Bucket=bucket, Key="in/photo.jpg", Body=photo)
    request = inference.input_fn(
        json.dumps({"s3_uri": f"s3://{bucket}/in/photo.jpg"}), "application/json"
    )
    assert (request.images[0].width, request.images[0].height) == (4000, 3000)


def test_a_slow_s3_body_is_cut_off_at_the_wall_clock_deadline(monkeypatch):
    body = json.dumps({"s3_uri": "s3://slow-bucket/in/x.jpg"})
    with DrippingServer() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
        payloads._s3_client.cache_clear()
        started = time.monotonic()
        try:
            with pytest.raises(inference.GenericInferenceToolkitError) as raised:
                inference.input_fn(body, "application/json")
        finally:
            payloads._s3_client.cache_clear()
        elapsed = time.monotonic() - started
    assert raised.value.status_code == 502
    assert raised.value.message == (
        f"the s3_uri object took over {payloads.S3_DEADLINE_SECONDS} s to read"
    )
    # The body would take hours; the answer comes at the deadline (plus a loaded machine's
    # scheduling), far inside InvokeEndpoint's 60 s.
    assert elapsed < payloads.S3_DEADLINE_SECONDS + 5
    # and the read it gave up on ends too, instead of holding a connection for hours
    assert reader_threads_end("s3_uri"), "the abandoned s3_uri read is still running"
