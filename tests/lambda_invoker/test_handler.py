"""The handler with real boto3: canned endpoint answers queued in the emulator, S3 input from
the emulator, and every endpoint error class from an AWS-shaped error server."""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.request
import uuid

import pytest

from invoker.config import INPUT_DEADLINE_SECONDS
from local_stack.emulator import client
from local_stack.ports import free_port
from local_stack.serving.stub_endpoint import StubEndpoint
from tests.images import TINY_JPEG, sample_image
from tests.slow_servers import DrippingServer, reader_threads_end

pytestmark = pytest.mark.integration

INFERENCE_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
PREDICTIONS = [
    {"breed": "Akita", "index": 3, "probability": 0.91},
    {"breed": "Basenji", "index": 13, "probability": 0.05},
    {"breed": "Beagle", "index": 15, "probability": 0.04},
]


def existing_endpoint(emulator, name: str = "dog-breeds") -> None:
    """The endpoint the handler calls, on the emulator: SageMaker answers an endpoint that
    does not exist with ValidationError, and so does the emulator; with local mode off, moto's
    queued answers stand in for its model."""
    sagemaker = client("sagemaker", emulator)
    if name in {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}:
        return
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model(
        ModelName=unique,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/endpoint",
        PrimaryContainer={
            "Image": INFERENCE_IMAGE,
            "ModelDataUrl": "s3://dog-breeds-data/models/run-1/model.tar.gz",
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=unique,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": unique,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=unique)


def queue_endpoint_results(emulator, *bodies: dict) -> None:
    existing_endpoint(emulator)
    payload = {
        "results": [
            {
                "Body": json.dumps(b),
                "ContentType": "application/json",
                "InvokedProductionVariant": "AllTraffic",
            }
            for b in bodies
        ],
        "region": emulator.region,
    }
    request = urllib.request.Request(
        f"{emulator.endpoint_url}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).read()


def unique_jpeg(sample_dataset) -> bytes:
    # moto replays the same answer for the same request: make every request distinct.
    return sample_image(sample_dataset, "004.Akita").read_bytes() + uuid.uuid4().bytes


def body_of(result: dict) -> dict:
    assert result["headers"]["Content-Type"] == "application/json"
    return json.loads(result["body"])


def test_canned_answer_becomes_top_k_json(emulator, load_handler, context, sample_dataset):
    handler = load_handler()
    queue_endpoint_results(emulator, {"predictions": PREDICTIONS})
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image, "top_k": 2}, context)
    assert result["statusCode"] == 200
    assert body_of(result) == {
        "predictions": PREDICTIONS[:2],
        "endpoint": "dog-breeds",
        "model_version": "models/run-1/model.tar.gz",
    }
    assert result["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_api_gateway_event_and_s3_input(emulator, load_handler, context, sample_dataset):
    bucket = f"input-{uuid.uuid4().hex[:10]}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="inference-input/dog.jpg", Body=unique_jpeg(sample_dataset))
    handler = load_handler(INPUT_BUCKET=bucket)
    queue_endpoint_results(emulator, {"predictions": PREDICTIONS})
    event = {
        "httpMethod": "POST",
        "requestContext": {},
        "headers": {},
        "body": json.dumps({"s3_uri": f"s3://{bucket}/inference-input/dog.jpg"}),
    }
    result = handler.lambda_handler(event, context)
    assert result["statusCode"] == 200, result
    assert body_of(result)["predictions"][0]["breed"] == "Akita"

    event["body"] = json.dumps({"s3_uri": f"s3://{bucket}/inference-input/missing.jpg"})
    missing = handler.lambda_handler(event, context)
    assert missing["statusCode"] == 404
    assert body_of(missing)["error"] == {
        "code": "not_found",
        "message": "the s3_uri object does not exist",
    }


@pytest.fixture
def error_endpoint():
    server = StubEndpoint()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("status", "error_type", "body", "expected_status", "expected_code"),
    [
        (
            424,
            "ModelError",
            {
                "Message": "Received client error (400)",
                "OriginalStatusCode": 400,
                "OriginalMessage": "request body is not an image\nTraceback ...",
            },
            400,
            "bad_request",
        ),
        (
            424,
            "ModelError",
            {
                "Message": "Received server error (500)",
                "OriginalStatusCode": 500,
                "OriginalMessage": "CUDA out of memory",
            },
            502,
            "model_error",
        ),
        (400, "ThrottlingException", {"message": "Rate exceeded"}, 429, "throttled"),
        (503, "ServiceUnavailable", {"message": "try later"}, 503, "unavailable"),
        (429, "ModelNotReadyException", {"message": "warming up"}, 503, "unavailable"),
        (
            400,
            "ValidationError",
            {"message": "Endpoint dog-breeds not found."},
            500,
            "misconfigured",
        ),
        (500, "InternalFailure", {"message": "oops"}, 502, "endpoint_error"),
    ],
)
def test_each_endpoint_error_class_maps_to_its_status(
    load_handler,
    context,
    sample_dataset,
    error_endpoint,
    status,
    error_type,
    body,
    expected_status,
    expected_code,
):
    handler = load_handler(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=error_endpoint.url)
    error_endpoint.answer(status, error_type, body)
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image}, context)
    assert result["statusCode"] == expected_status
    error = body_of(result)["error"]
    assert error["code"] == expected_code
    assert error["message"]
    assert "Traceback" not in error["message"]


def test_endpoint_timeout_is_504(load_handler, context, sample_dataset, error_endpoint):
    handler = load_handler(
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=error_endpoint.url, INVOKE_TIMEOUT_SECONDS="0.5"
    )
    error_endpoint.answer(200, "", {"predictions": PREDICTIONS}, delay=2.0)
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image}, context)
    assert result["statusCode"] == 504
    assert body_of(result)["error"]["code"] == "timeout"


def test_missing_endpoint_name_is_a_500_misconfiguration(
    load_handler, context, sample_dataset, capfd
):
    handler = load_handler(ENDPOINT_NAME="")
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image}, context)
    assert result["statusCode"] == 500
    assert body_of(result)["error"] == {
        "code": "misconfigured",
        "message": "the function is misconfigured",
    }
    (logged,) = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert logged["detail"] == "ENDPOINT_NAME is not set"


ACCESS_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/dog-breeds-invoker/dog-breeds-invoker is not "
    "authorized to perform: sagemaker:InvokeEndpoint on resource: "
    "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dog-breeds"
)


@pytest.mark.parametrize(
    ("status", "error_type", "message"),
    [
        (400, "AccessDeniedException", ACCESS_DENIED),
        (400, "ValidationError", "Endpoint dog-breeds of account 123456789012 not found."),
        (400, "ThrottlingException", "Rate exceeded for arn:aws:sagemaker:us-east-1:123456789012"),
    ],
)
def test_answers_never_carry_aws_messages_that_name_the_account(
    load_handler, context, sample_dataset, error_endpoint, capfd, status, error_type, message
):
    handler = load_handler(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=error_endpoint.url)
    error_endpoint.answer(status, error_type, {"message": message})
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image}, context)
    assert "123456789012" not in result["body"]
    assert "arn:" not in result["body"]
    (logged,) = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert logged["detail"] == f"{error_type}: {message}"


def test_an_unreachable_endpoint_is_a_502_without_its_address(load_handler, context, capfd):
    handler = load_handler(
        # Nothing listens on a free port.
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=f"http://127.0.0.1:{free_port()}",
        INVOKE_ATTEMPTS="1",
    )
    result = handler.lambda_handler({"image": base64.b64encode(TINY_JPEG).decode()}, context)
    assert result["statusCode"] == 502
    assert body_of(result)["error"] == {
        "code": "endpoint_unreachable",
        "message": "the endpoint cannot be reached",
    }
    (logged,) = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert "127.0.0.1" in logged["detail"]


def test_a_slow_endpoint_gets_exactly_the_configured_attempts(
    load_handler, context, error_endpoint
):
    handler = load_handler(
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=error_endpoint.url,
        INVOKE_TIMEOUT_SECONDS="0.3",
        INVOKE_ATTEMPTS="2",
    )
    error_endpoint.answer(200, "", {"predictions": PREDICTIONS}, delay=1.0)
    result = handler.lambda_handler({"image": base64.b64encode(TINY_JPEG).decode()}, context)
    assert result["statusCode"] == 504
    assert error_endpoint.requests == 2


def test_anything_unforeseen_is_a_500_internal_with_one_logged_traceback(
    load_handler, context, capfd, monkeypatch
):
    handler = load_handler()

    def broken(event):
        raise RuntimeError("a bug")

    # The one place a test replaces the handler's own code: to reach the branch that exists
    # for bugs nobody has found yet.
    monkeypatch.setattr(handler, "classify", broken)
    result = handler.lambda_handler({"image": "x"}, context)
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "error": {"code": "internal", "message": "the function failed; its log has the details"}
    }
    assert result["headers"]["Content-Type"] == "application/json"
    err = capfd.readouterr().err
    assert err.count("Traceback") == 1
    assert "a bug" not in result["body"]


def logged_good_and_bad_request(handler, context, dataset, capfd, emulator):
    """A photo the endpoint answers (as base64) and the JSON log lines of its request, then of
    a body that is not base64."""
    queue_endpoint_results(emulator, {"predictions": PREDICTIONS})
    image = base64.b64encode(unique_jpeg(dataset)).decode()
    handler.lambda_handler({"image": image}, context)
    handler.lambda_handler({"image": "not base64!"}, context)
    return image, [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]


def test_logs_are_json_with_request_id_and_never_the_image(
    load_handler, context, sample_dataset, capfd, emulator
):
    image, lines = logged_good_and_bad_request(
        load_handler(), context, sample_dataset, capfd, emulator
    )
    assert [line["status"] for line in lines] == [200, 400]
    assert all(line["request_id"] == "req-0001" for line in lines)
    assert not any(image[:40] in json.dumps(line) for line in lines)
    assert logging.getLogger("invoker").propagate is False


def test_s3_out_of_reach_is_a_503_in_one_attempt(load_handler, context, capfd):
    handler = load_handler(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{free_port()}")
    handler.s3_client.cache_clear()
    event = {"s3_uri": "s3://dog-breeds-data/inference-input/dog.jpg"}
    result = handler.lambda_handler(event, context)
    assert result["statusCode"] == 503
    assert body_of(result)["error"] == {
        "code": "input_unavailable",
        "message": "S3 cannot be reached",
    }
    (logged,) = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert "Could not connect" in logged["detail"]


def test_a_slow_s3_body_ends_at_the_deadline(load_handler, context, monkeypatch):
    """However slowly S3 sends (a byte just inside each read timeout), the caller's answer
    comes at INPUT_DEADLINE_SECONDS, and the abandoned read ends."""
    with DrippingServer() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
        handler = load_handler(INPUT_BUCKET="dog-breeds-data")
        event = {"s3_uri": "s3://dog-breeds-data/inference-input/dog.jpg"}
        started = time.monotonic()
        result = handler.lambda_handler(event, context)
        elapsed = time.monotonic() - started
    assert result["statusCode"] == 504, result
    assert body_of(result)["error"]["code"] == "input_timeout"
    assert elapsed < INPUT_DEADLINE_SECONDS + 5  # the body would take hours
    assert reader_threads_end("input-read"), "the abandoned S3 read is still running"


def test_an_endpoint_answer_with_nan_is_a_502_in_valid_json(
    load_handler, context, sample_dataset, error_endpoint
):
    handler = load_handler(AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=error_endpoint.url)
    broken = [{"breed": "Akita", "index": 3, "probability": float("nan")}]
    error_endpoint.answer(200, "", {"predictions": broken})
    image = base64.b64encode(unique_jpeg(sample_dataset)).decode()
    result = handler.lambda_handler({"image": image}, context)
    assert result["statusCode"] == 502
    strict = json.loads(result["body"], parse_constant=lambda token: pytest.fail(token))
    assert strict == {
        "error": {"code": "model_error", "message": "the endpoint answered with an unexpected body"}
    }


def test_an_s3_key_with_a_lone_surrogate_is_a_400(load_handler, context):
    handler = load_handler()
    event = {"s3_uri": "s3://dog-breeds-data/inference-input/\ud800.jpg"}
    result = handler.lambda_handler(event, context)
    assert result["statusCode"] == 400
    assert body_of(result)["error"]["message"] == "s3_uri is not valid Unicode"
