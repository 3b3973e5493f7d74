"""Local mode serves endpoints: InvokeEndpoint on the emulator is answered by the model the
endpoint's current configuration names, on the SageMaker serving toolkit (API_runtime_
InvokeEndpoint: the model's answer, ModelError 424 with the model's status, ValidationError for
an endpoint that does not exist; x-Amzn-Invoked-Production-Variant names the variant).

Each test deploys with plain boto3, as any client would. In the "torchserve" group of
SHARED_WORKERS: the first test serves on TorchServe, one per host.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid

import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.emulator import client
from local_stack.emulator.clients import CLIENT_CONFIG
from local_stack.serving.endpoint import running_torchserve
from tests.images import sample_image

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/endpoint"


@pytest.fixture(scope="module")
def models(emulator, model_archive, int8_archive) -> dict[str, str]:
    """The trained model's fp32 and int8 archives in the emulator's S3."""
    s3 = client("s3", emulator)
    bucket = f"models-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    urls = {}
    for precision, archive in (("fp32", model_archive), ("int8", int8_archive)):
        s3.upload_file(str(archive), bucket, f"{precision}/model.tar.gz")
        urls[precision] = f"s3://{bucket}/{precision}/model.tar.gz"
    return urls


def configuration(emulator, model_data_url: str) -> str:
    """A model and an endpoint configuration serving ``model_data_url``; the configuration's
    name."""
    sagemaker = client("sagemaker", emulator)
    name = f"dogs-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data_url},
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
    )
    return name


def deployed(emulator, model_data_url: str) -> str:
    name = configuration(emulator, model_data_url)
    client("sagemaker", emulator).create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def runtime(emulator):
    """sagemaker-runtime as the SDK makes it, with room for the model to load on first call."""
    return client(
        "sagemaker-runtime", emulator, config=CLIENT_CONFIG.merge(Config(read_timeout=240))
    )


def classify(emulator, endpoint: str, body: bytes, content_type: str = "image/jpeg") -> dict:
    answer = runtime(emulator).invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType=content_type, Accept="application/json"
    )
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    return json.loads(answer["Body"].read())


def test_the_endpoint_answers_with_its_model_and_an_update_replaces_it(
    emulator, local_mode, models, sample_dataset
):
    """TorchServe serves the configuration's model (loaded from CreateEndpoint on); after
    UpdateEndpoint the next call is answered by the new configuration's model (its precision
    says which), and DeleteEndpoint stops its server."""
    local_mode.endpoints.model_server = "torchserve"
    endpoint = deployed(emulator, models["fp32"])
    jpeg = sample_image(sample_dataset, "004.Akita").read_bytes()
    first = classify(emulator, endpoint, jpeg)
    assert first["predictions"][0]["breed"] == "Akita"
    assert first["precision"] == "fp32"
    (served,) = local_mode.endpoints.describe()
    assert served["ModelServer"] == "torchserve"
    assert running_torchserve()

    updated = configuration(emulator, models["int8"])
    client("sagemaker", emulator).update_endpoint(EndpointName=endpoint, EndpointConfigName=updated)
    second = classify(emulator, endpoint, jpeg)
    assert second["precision"] == "int8"
    assert second["predictions"][0]["breed"] == "Akita"
    (served,) = local_mode.endpoints.describe()
    assert served["EndpointConfigName"] == updated

    client("sagemaker", emulator).delete_endpoint(EndpointName=endpoint)
    assert local_mode.endpoints.describe() == []
    assert no_model_server_left()


def model_servers() -> list[psutil.Process]:
    """The local model servers this process started (the emulator runs in it)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if "local_stack.serving.endpoint" in child.cmdline():
                found.append(child)
    return found


def no_model_server_left(timeout: float = 30) -> bool:
    _, alive = psutil.wait_procs(model_servers(), timeout=timeout)
    return alive == [] and not any(psutil.pid_exists(pid) for pid in running_torchserve())


def test_a_second_endpoint_answers_on_the_handler_service_beside_torchserve(
    emulator, local_mode, models, sample_dataset
):
    """One TorchServe per host: the second endpoint that must answer meanwhile is served by the
    toolkit's handler service, and says the same."""
    local_mode.endpoints.model_server = "torchserve"
    jpeg = sample_image(sample_dataset, "001.Affenpinscher").read_bytes()
    first, second = deployed(emulator, models["fp32"]), deployed(emulator, models["fp32"])
    answers = [classify(emulator, name, jpeg) for name in (first, second)]
    for one, other in zip(answers[0]["predictions"], answers[1]["predictions"], strict=True):
        assert one["breed"] == other["breed"]
        assert one["probability"] == pytest.approx(other["probability"], abs=1e-4)
    assert answers[0]["predictions"][0]["breed"] == "Affenpinscher"
    servers = {s["EndpointName"]: s["ModelServer"] for s in local_mode.endpoints.describe()}
    # Each began loading when it was created: whichever came first has TorchServe.
    assert sorted(servers) == sorted([first, second])
    assert sorted(servers.values()) == ["handler-service", "torchserve"]


def test_what_the_model_refuses_comes_back_as_a_model_error(emulator, local_mode, models):
    endpoint = deployed(emulator, models["fp32"])
    with pytest.raises(ClientError) as refused:
        classify(emulator, endpoint, b"not an image at all")
    error = refused.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 415
    assert "unsupported_media_type" in error["OriginalMessage"]


def test_an_unknown_endpoint_is_a_validation_error(emulator, local_mode):
    with pytest.raises(ClientError) as refused:
        classify(emulator, "no-such-endpoint", b"{}", "application/json")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "Endpoint no-such-endpoint of account" in error["Message"]


def test_stopping_local_mode_while_a_model_loads_leaves_no_server(emulator, local_mode, models):
    """DeleteEndpoint, then stopping local mode, each while a model is still loading (it
    starts loading at CreateEndpoint): no model server outlives them."""
    endpoint = deployed(emulator, models["fp32"])
    client("sagemaker", emulator).delete_endpoint(EndpointName=endpoint)
    assert local_mode.endpoints.describe() == []
    deployed(emulator, models["fp32"])
    time.sleep(0.5)  # its download or its start under way
    local_mode.stop_all()
    time.sleep(2)  # what a load thread might still start, it starts by now
    assert local_mode.endpoints.describe() == []
    assert no_model_server_left()


def test_a_model_that_does_not_load_says_why_at_once_until_the_endpoint_changes(
    emulator, local_mode, models
):
    """Model data that is not there: ServiceUnavailable naming it, remembered (a retry does not
    load it again) until UpdateEndpoint, which loads the model anew."""
    missing = models["fp32"].replace("fp32/", "still-missing/")
    endpoint = deployed(emulator, missing)
    for _ in range(2):  # the second answer is the remembered failure: no second download
        with pytest.raises(ClientError) as refused:
            classify(emulator, endpoint, b"{}", "application/json")
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert missing in refused.value.response["Error"]["Message"]
    (failed,) = local_mode.endpoints.describe()
    assert failed["Status"] == "Failed"
    bucket, key = missing.removeprefix("s3://").split("/", 1)
    source_bucket, source_key = models["fp32"].removeprefix("s3://").split("/", 1)
    client("s3", emulator).copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key}
    )
    updated = configuration(emulator, missing)
    client("sagemaker", emulator).update_endpoint(EndpointName=endpoint, EndpointConfigName=updated)
    with pytest.raises(ClientError) as refused:  # the model's own answer: JSON with no image
        classify(emulator, endpoint, b"{}", "application/json")
    assert refused.value.response["Error"]["Code"] == "ModelError"


def captured(emulator, bucket: str, prefix: str, count: int, timeout: float = 240) -> list[dict]:
    """The capture records under ``prefix`` once there are ``count`` (written after the
    answer, the shadow's once its model has loaded)."""
    s3, deadline = client("s3", emulator), time.monotonic() + timeout
    while True:
        keys = [
            item["Key"]
            for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        ]
        if len(keys) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    ]


def test_capture_and_a_shadow_copy_are_written_as_sagemaker_writes_them(
    emulator, local_mode, models, sample_dataset
):
    """Data capture at 100 % and a shadow variant at the production's weight ("Capture data
    from real-time endpoint", "Create a shadow test"): the caller gets the production answer
    (fp32) and its variant's name; both variants' records land under
    <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/, JSON as text, with the caller's
    inferenceId, the shadow's answer its own (int8)."""
    sagemaker = client("sagemaker", emulator)
    bucket = models["fp32"].split("/")[2]
    names = {}
    for precision in ("fp32", "int8"):
        names[precision] = f"dogs-{precision}-{uuid.uuid4().hex[:6]}"
        sagemaker.create_model(
            ModelName=names[precision],
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": models[precision]},
        )
    variant = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    endpoint = f"shadowed-{uuid.uuid4().hex[:6]}"
    sagemaker.create_endpoint_config(
        EndpointConfigName=endpoint,
        ProductionVariants=[{**variant, "VariantName": "AllTraffic", "ModelName": names["fp32"]}],
        ShadowProductionVariants=[{**variant, "VariantName": "Shadow", "ModelName": names["int8"]}],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{bucket}/capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    photo = sample_image(sample_dataset, "004.Akita").read_bytes()
    request = json.dumps({"image": base64.b64encode(photo).decode(), "top_k": 2})
    answer = runtime(emulator).invoke_endpoint(
        EndpointName=endpoint, Body=request, ContentType="application/json", InferenceId="req-1"
    )
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(answer["Body"].read())["precision"] == "fp32"

    records = {
        name: captured(emulator, bucket, f"capture/{endpoint}/{name}/", 1)
        for name in ("AllTraffic", "Shadow")
    }
    for name, precision in (("AllTraffic", "fp32"), ("Shadow", "int8")):
        (entry,) = records[name]
        assert entry["eventMetadata"]["inferenceId"] == "req-1"
        sent, said = entry["captureData"]["endpointInput"], entry["captureData"]["endpointOutput"]
        assert (sent["mode"], sent["encoding"], sent["data"]) == ("INPUT", "JSON", request)
        assert (said["mode"], said["encoding"]) == ("OUTPUT", "JSON")
        assert json.loads(said["data"])["precision"] == precision
