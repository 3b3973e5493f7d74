"""``python -m mlops shadow`` on the emulator: a candidate runs as the Shadow variant of a live
endpoint (local mode copies each request to it and captures both answers, as "Create a shadow
test" describes), the report compares them, and promote changes the served version only for a
candidate that agrees. One candidate is the live model's int8 copy (it agrees); the other was
trained on the same photos with every breed's label moved to the next breed (it does not).

The endpoints are deployed with plain boto3 (Terraform's side is the endpoint module's plan
tests and tests/terraform/test_deployments.py); the stack's outputs come from a saved
``terraform output -json`` file, as ``--terraform-outputs`` reads them.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_stack.emulator import client
from local_stack.serving.lambda_runtime import import_handler
from ml.package import build_model_archive
from mlops import shadow_report
from mlops.aws import Aws
from mlops.cli import main
from mlops.shadow import mean_latency_ms
from tests.training import TINY_TRAIN_ARGS, run_train, split_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/endpoint"


def relabelled(dataset: Path, root: Path) -> Path:
    """The dataset with each breed's photos under the next breed's folder."""
    copy = root / "dogImages"
    for split in ("train", "valid", "test"):
        breeds = sorted(p.name for p in (dataset / split).iterdir())
        for index, breed in enumerate(breeds):
            target = breeds[(index + 1) % len(breeds)]
            shutil.copytree(dataset / split / breed, copy / split / target)
    return copy


@pytest.fixture(scope="module")
def shuffled_archive(sample_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shuffled")
    data = relabelled(sample_dataset, root)
    run_train(*TINY_TRAIN_ARGS, *split_args(data, root / "model", root / "checkpoints"))
    return build_model_archive(root / "model", root / "model.tar.gz")


@pytest.fixture(scope="module")
def registry(emulator, model_archive, int8_archive, shuffled_archive) -> dict[str, str]:
    """A bucket holding the three archives and a group with each as an Approved version."""
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    name = f"shadow-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    found = {"bucket": name, "group": name}
    for kind, archive in (
        ("live", model_archive),
        ("agrees", int8_archive),
        ("differs", shuffled_archive),
    ):
        s3.upload_file(str(archive), name, f"models/{kind}/model.tar.gz")
        found[kind] = sagemaker.create_model_package(
            ModelPackageGroupName=name,
            InferenceSpecification={
                "Containers": [
                    {"Image": IMAGE, "ModelDataUrl": f"s3://{name}/models/{kind}/model.tar.gz"}
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelApprovalStatus="Approved",
        )["ModelPackageArn"]
    return found


def shadowed_endpoint(emulator, registry: dict, candidate: str, tmp_path: Path) -> tuple[str, Path]:
    """The live version served with ``candidate`` as its Shadow variant, capture at 100 %;
    the endpoint's name and the stack's outputs file."""
    sagemaker = client("sagemaker", emulator)
    name = f"shadowed-{uuid.uuid4().hex[:6]}"
    for kind, package in (("live", registry["live"]), ("shadow", registry[candidate])):
        sagemaker.create_model(
            ModelName=f"{name}-{kind}",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"ModelPackageName": package},
        )
    variant = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    capture = f"s3://{registry['bucket']}/capture/"
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{**variant, "VariantName": "AllTraffic", "ModelName": f"{name}-live"}],
        ShadowProductionVariants=[
            {**variant, "VariantName": "Shadow", "ModelName": f"{name}-shadow"}
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": capture,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    outputs = {
        "bucket_name": registry["bucket"],
        "endpoint_name": name,
        "endpoint_model": registry["live"],
        "model_package_group_name": registry["group"],
        "endpoint_shadow": {
            "variant_name": "Shadow",
            "production_variant": "AllTraffic",
            "model_package_arn": registry[candidate],
            "capture_s3_uri": capture,
        },
    }
    path = tmp_path / f"{name}-outputs.json"
    path.write_text(json.dumps({key: {"value": value} for key, value in outputs.items()}))
    return name, path


def live_traffic(emulator, endpoint: str, bucket: str, photos: list[Path]) -> None:
    """Every photo through the invoker's handler, as callers send them; then wait until both
    variants' captures of each are written (the shadow's after the caller's answer). A call
    the invoker retried (its first attempt outlived the read timeout on a loaded machine) is
    captured twice, as on AWS: the report pairs answers by inferenceId."""
    handler = import_handler({"ENDPOINT_NAME": endpoint, "LOG_LEVEL": "WARNING"})
    for index, photo in enumerate(photos):
        event = {
            "version": "2.0",
            "requestContext": {"http": {"method": "POST"}},
            "headers": {"content-type": "image/jpeg"},
            "body": base64.b64encode(photo.read_bytes()).decode(),
            "isBase64Encoded": True,
        }
        answer = handler.lambda_handler(event, SimpleNamespace(aws_request_id=f"req-{index:04}"))
        assert answer["statusCode"] == 200, answer["body"]
    s3, deadline = client("s3", emulator), time.monotonic() + 240
    for variant in ("AllTraffic", "Shadow"):
        while True:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"capture/{endpoint}/{variant}/")
            if listed["KeyCount"] >= len(photos) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert listed["KeyCount"] >= len(photos), f"{variant}: {listed['KeyCount']} captures"


def shadow(*args: str) -> str:
    return main(["shadow", *args])


def test_promote_takes_the_candidate_that_agrees_and_refuses_the_one_that_does_not(
    emulator, local_mode, registry, sample_dataset, tmp_path, caplog
):
    photos = sorted((sample_dataset / "test").glob("*/*.jpg"))
    tfvars = tmp_path / "terraform.tfvars"
    for candidate in ("agrees", "differs"):
        endpoint, outputs = shadowed_endpoint(emulator, registry, candidate, tmp_path)
        live_traffic(emulator, endpoint, registry["bucket"], photos)
        tfvars.write_text(
            f'model_package_arn = "{registry["live"]}"\n'
            f'endpoint_shadow_model_package_arn = "{registry[candidate]}"\n'
        )
        stack = ["--terraform-outputs", str(outputs), "--since", "1h"]
        report = json.loads(shadow("report", *stack))
        assert report["paired"] == len(photos)
        assert report["live_latency_ms"] > 0
        assert report["shadow_latency_ms"] > 0
        if candidate == "agrees":
            assert report["agreement"] >= 0.95
            # Both variants share this machine's two cores (the shadow answers while the live
            # model takes the next request): latency here is noise, gated loosely.
            loose = ("--min-requests", "20", "--max-latency-ratio", "5")
            promoted = shadow("promote", *stack, "--tfvars", str(tfvars), *loose)
            assert promoted == registry["agrees"]
            assert tfvars.read_text() == f'model_package_arn = "{registry["agrees"]}"\n'
        else:
            assert report["agreement"] <= 0.5
            assert (
                report["disagreements"][0]["live"]["breed"]
                != report["disagreements"][0]["shadow"]["breed"]
            )
            with pytest.raises(SystemExit) as refused:
                shadow("promote", *stack, "--tfvars", str(tfvars), "--min-requests", "20")
            assert refused.value.code == 1
            assert "is not promoted: the candidate agrees with the live model on" in caplog.text
            assert registry["differs"] in tfvars.read_text()  # nothing changed
            shadow("stop", "--terraform-outputs", str(outputs), "--tfvars", str(tfvars))
            assert tfvars.read_text() == f'model_package_arn = "{registry["live"]}"\n'


def test_the_latency_counts_a_request_answered_a_moment_ago(emulator):
    """The report runs right after the traffic: a ModelLatency put in the same second as
    ``now`` still counts (GetMetricStatistics' EndTime is exclusive)."""
    endpoint = f"just-answered-{uuid.uuid4().hex[:6]}"
    client("cloudwatch", emulator).put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": "Shadow"},
                ],
                "Value": 2500.0,
                "Unit": "Microseconds",
            }
        ],
    )
    now = datetime.now(UTC)
    aws = Aws(lambda: emulator.region)
    assert mean_latency_ms(aws, endpoint, "Shadow", now - timedelta(hours=1), now) == 2.5
    assert mean_latency_ms(aws, endpoint, "AllTraffic", now - timedelta(hours=1), now) is None


def test_start_sets_an_approved_candidate_and_refuses_the_live_one(emulator, registry, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "endpoint_model": {"value": registry["live"]},
                "model_package_group_name": {"value": registry["group"]},
            }
        )
    )
    tfvars = tmp_path / "terraform.tfvars"
    stack = ["--terraform-outputs", str(outputs), "--tfvars", str(tfvars)]
    assert shadow("start", *stack, "--model-package", registry["agrees"]) == registry["agrees"]
    assert tfvars.read_text() == f'endpoint_shadow_model_package_arn = "{registry["agrees"]}"\n'
    with pytest.raises(SystemExit):
        shadow("start", *stack, "--model-package", registry["live"])
    with pytest.raises(SystemExit):
        shadow("report", "--terraform-outputs", str(outputs))  # no shadow running


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--min-agreement", "nan"),
        ("--min-agreement", "1.5"),
        ("--max-latency-ratio", "inf"),
        ("--max-latency-ratio", "0"),
        ("--min-requests", "0"),
        ("--disagreements", "-1"),
    ],
)
def test_a_threshold_that_means_nothing_is_refused_before_any_call(flag, value, tmp_path, caplog):
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    with pytest.raises(SystemExit) as refused:
        shadow(
            "promote",
            "--terraform-outputs",
            str(outputs),
            "--tfvars",
            str(tmp_path / "t"),
            flag,
            value,
        )
    assert refused.value.code == 2
    assert flag in caplog.text


def test_the_verdict_names_every_threshold_missed():
    report = {"paired": 150, "agreement": 0.9, "latency_ratio": 1.5}
    reasons = shadow_report.verdict(report, 0.95, 1.2, 100)
    assert len(reasons) == 2
    assert "agrees with the live model on 90.0% of 150 requests" in reasons[0]
    assert "1.50x the live model's" in reasons[1]
    passing = {**report, "agreement": 0.97, "latency_ratio": 1.1}
    assert shadow_report.verdict(passing, 0.95, 1.2, 100) == []
    too_few = shadow_report.verdict({**report, "paired": 20, "latency_ratio": None}, 0.95, 1.2, 100)
    assert "only 20 requests" in too_few[0]
    assert "no ModelLatency" in too_few[1]


@given(
    line=st.one_of(
        st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    )
)
def test_any_capture_line_is_an_answer_or_none(line):
    found = shadow_report.answer_of(line)
    assert found is None or isinstance(found.breed, str)


@given(text=st.text(max_size=12))
def test_any_since_is_a_window_or_a_clear_refusal(text):
    from mlops import JobsError
    from mlops.shadow import parse_since

    try:
        seconds = parse_since(text).total_seconds()
    except JobsError as error:
        seconds, message = None, str(error)
    assert seconds is None or seconds > 0
    assert seconds is not None or "--since" in message
