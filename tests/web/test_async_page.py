"""The page in front of an asynchronous endpoint: the function answers 202 with an
inference_id, and the page asks GET /classify/{id} until the answer is there. Everything is
real: the page server's routes run the Lambda handler, whose S3 and InvokeEndpointAsync calls
reach the emulator, whose local mode serves the queue with the model."""

from __future__ import annotations

import uuid

import pytest

from local_stack.emulator import client
from local_stack.serving.lambda_runtime import import_handler
from local_stack.serving.page import WebServer
from tests.images import sample_image
from tests.web.test_page import breeds, open_page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"


def asynchronous_endpoint(emulator, archive) -> str:
    """The archive served by an asynchronous endpoint of the emulator; its name (and bucket)."""
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    name = f"page-async-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    s3.upload_file(str(archive), name, "models/model.tar.gz")
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/endpoint",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{name}/models/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": {
                "S3OutputPath": f"s3://{name}/async/out/",
                "S3FailurePath": f"s3://{name}/async/failed/",
            }
        },
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def test_the_page_polls_until_the_queued_answer_is_there(
    page, emulator, local_mode, five_breeds, five_breeds_archive
):
    name = asynchronous_endpoint(emulator, five_breeds_archive)
    handler = import_handler(
        {
            "ENDPOINT_NAME": name,
            "MODEL_VERSION": "local",
            "ASYNC_BUCKET": name,
            "ASYNC_INPUT_PREFIX": "async/in/",
            "ASYNC_OUTPUT_PREFIX": "async/out/",
            "ASYNC_FAILURE_PREFIX": "async/failed/",
            "LOG_LEVEL": "WARNING",
        }
    )
    with WebServer(handler) as web:
        open_page(page, web.url)
        page.set_input_files("#photo", str(sample_image(five_breeds, "004.Akita")))
        page.wait_for_selector("#status:has-text('Queued')")
        # The model loads on the first request: minutes at most on a slow machine.
        page.wait_for_selector(".breeds li:nth-child(5)", timeout=240_000)
    assert breeds(page)[0] == "Akita"
    assert page.locator("#status").inner_text() == "Top 5 breeds"
    queued = client("s3", emulator).list_objects_v2(Bucket=name, Prefix="async/out/")
    assert queued["KeyCount"] == 1
