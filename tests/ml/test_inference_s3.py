"""{"s3_uri": ...} requests read the object with the endpoint's credentials (the emulator)."""

import json
import uuid

import pytest

from local_stack.emulator import client
from local_stack.ports import free_port
from ml import inference
from tests.images import sample_image

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_s3_client(emulator):
    """The endpoint builds its S3 client once per process; here it must be built under the
    emulator's environment, whatever test of this process built one before."""
    inference._s3_client.cache_clear()
    yield
    inference._s3_client.cache_clear()


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
    big = b"\xff\xd8\xff" + b"\0" * inference.MAX_IMAGE_BYTES
    client("s3", emulator).put_object(Bucket=bucket, Key="in/big.jpg", Body=big)
    with pytest.raises(inference.GenericInferenceToolkitError) as raised:
        inference.input_fn(json.dumps({"s3_uri": f"s3://{bucket}/in/big.jpg"}), "application/json")
    assert raised.value.status_code == 413
    assert f"the limit is {inference.MAX_IMAGE_BYTES}" in raised.value.message


def test_s3_out_of_reach_is_a_502_in_one_attempt_naming_no_address(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    inference._s3_client.cache_clear()
    try:
        with pytest.raises(inference.GenericInferenceToolkitError) as raised:
            inference.input_fn(
                json.dumps({"s3_uri": "s3://some-bucket/in/x.jpg"}), "application/json"
            )
    finally:
        inference._s3_client.cache_clear()
    assert raised.value.status_code == 502
    assert raised.value.message == "cannot read the s3_uri object: S3 did not answer"
