"""The monitor function against the emulator: it finds the served version's baseline through
the registry, reads the window's captures from S3 and publishes its figures to CloudWatch."""

from __future__ import annotations

import json
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from local_stack.demo.terraform import REPO_ROOT
from local_stack.emulator import client
from local_stack.emulator.probes import LAMBDA_TRUST_POLICY
from tests.model_monitor.records import answer, baseline, photo, put_captures, record
from tests.model_monitor.test_report import BREEDS, TRAINING

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/monitor-test"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"


@pytest.fixture
def served(emulator, monkeypatch):
    """An endpoint serving a registered version whose baseline is in S3, and the monitor's
    settings for it."""
    name = f"mon-{uuid.uuid4().hex[:6]}"
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    s3.create_bucket(Bucket=f"{name}-data")
    key = f"registry/{name}-models/job-1/baseline.json"
    s3.put_object(Bucket=f"{name}-data", Key=key, Body=json.dumps(baseline(BREEDS, TRAINING)))
    sagemaker.create_model_package_group(ModelPackageGroupName=f"{name}-models")
    package = sagemaker.create_model_package(
        ModelPackageGroupName=f"{name}-models",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{name}-data/m.tar.gz"}],
            "SupportedContentTypes": ["image/jpeg"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        DriftCheckBaselines={
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{name}-data/{key}",
                }
            }
        },
    )["ModelPackageArn"]
    sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package}
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InstanceType": "ml.m5.large"}]
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    for variable, value in {
        "ENDPOINT_NAME": name,
        "CAPTURE_S3_URI": f"s3://{name}-data/capture/",
        "METRIC_NAMESPACE": f"{name}/ModelMonitor",
        "MIN_REQUESTS": "20",
    }.items():
        monkeypatch.setenv(variable, value)
    return name, package


def published(cloudwatch, name: str, metric: str) -> list[float]:
    answer_ = cloudwatch.get_metric_statistics(
        Namespace=f"{name}/ModelMonitor",
        MetricName=metric,
        Dimensions=[{"Name": "EndpointName", "Value": name}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in answer_["Datapoints"]]


def test_the_monitor_publishes_the_windows_figures_against_the_served_baseline(served, emulator):
    import monitor_function

    name, package = served
    s3, cloudwatch = client("s3", emulator), client("cloudwatch", emulator)
    now, generator, image = datetime.now(UTC), random.Random(3), photo()
    recent = [
        record(image, answer(breed, 0.9), when=now - timedelta(minutes=10))
        for breed in generator.choices(BREEDS, weights=TRAINING, k=300)
    ]
    old = [record(image, answer(BREEDS[0], 0.9), when=now - timedelta(hours=3))] * 50
    put_captures(s3, name, recent, now - timedelta(minutes=10))
    put_captures(s3, name, old, now - timedelta(hours=3))

    report = monitor_function.handler({}, None)

    assert report["model"] == package
    assert report["published"] is True
    assert (
        report["metrics"]["CapturedRequests"] == 300
    )  # the records of three hours ago are left out
    assert report["metrics"]["PredictionDriftScore"] < 1.5
    assert published(cloudwatch, name, "CapturedRequests") == [300]
    assert published(cloudwatch, name, "PredictionDriftScore") == [
        pytest.approx(report["metrics"]["PredictionDriftScore"])
    ]


def test_on_demand_the_same_analysis_answers_without_publishing(served, emulator):
    import monitor_function

    name, _ = served
    s3, cloudwatch = client("s3", emulator), client("cloudwatch", emulator)
    when = datetime.now(UTC) - timedelta(hours=2)
    put_captures(s3, name, [record(photo(), answer(BREEDS[0], 0.3), when=when)] * 200, when)

    report = monitor_function.handler({"since_minutes": 180, "publish": False}, None)

    assert report["published"] is False
    assert report["metrics"]["LowConfidenceShare"] == 1
    assert report["metrics"]["PredictionDriftScore"] > 2
    assert published(cloudwatch, name, "CapturedRequests") == []


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ([], "the event must be a JSON object"),
        ({"since_minutes": "1h"}, "since_minutes must be a whole number, not '1h'"),
        ({"since_minutes": 0}, "since_minutes must be 1 to 43200, not 0"),
        ({"publish": "yes"}, "publish must be true or false, not 'yes'"),
    ],
)
def test_a_bad_request_is_refused_by_name(served, event, problem):
    import monitor_function

    with pytest.raises(monitor_function.MonitorError, match=problem):
        monitor_function.handler(event, None)


def test_mlops_monitor_runs_the_deployed_function_and_prints_its_report(
    served, emulator, local_mode, tmp_path, capsys
):
    """The operator's command invokes the function as deployed (the zip make package-lambda
    builds, run by local mode): its report, not published."""
    from mlops.cli import main

    name, package = served
    s3 = client("s3", emulator)
    when = datetime.now(UTC) - timedelta(minutes=30)
    generator, image = random.Random(5), photo()
    lines = [
        record(image, answer(breed, 0.9), when=when)
        for breed in generator.choices(BREEDS, weights=TRAINING, k=100)
    ]
    put_captures(s3, name, lines, when)
    deploy_monitor(emulator, name, tmp_path, f"s3://{name}-data/capture/")

    printed = main(
        ["monitor", "--function", f"{name}-monitor", "--since", "1h", "--region", "us-east-1"]
    )

    report = json.loads(printed)
    assert capsys.readouterr().out == printed
    assert (report["model"], report["published"]) == (package, False)
    assert report["metrics"]["CapturedRequests"] == 100
    assert report["metrics"]["PredictionDriftScore"] < 1.5
    assert published(client("cloudwatch", emulator), name, "CapturedRequests") == []


def test_mlops_monitor_says_why_the_function_failed(served, emulator, local_mode, tmp_path, caplog):
    """A monitor deployed with a capture location that is no folder: the function refuses by
    name (MonitorError), and the command exits 2, as its other refusals do, with that reason."""
    from mlops.cli import main

    name, _ = served
    deploy_monitor(emulator, name, tmp_path, f"s3://{name}-data")
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as ended:
        main(["monitor", "--function", f"{name}-monitor", "--region", "us-east-1"])
    assert ended.value.code == 2
    assert f"the monitor {name}-monitor failed: CAPTURE_S3_URI must be s3://bucket/prefix/" in (
        caplog.text
    )


def deploy_monitor(emulator, name: str, tmp_path, capture_uri: str) -> None:
    """The Lambda zip make package-lambda builds, as the monitor function of ``name``."""
    from scripts.build_lambda_zip import build

    role = client("iam", emulator).create_role(
        RoleName=f"{name}-monitor", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY)
    )["Role"]["Arn"]
    environment = {
        "ENDPOINT_NAME": name,
        "CAPTURE_S3_URI": capture_uri,
        "METRIC_NAMESPACE": f"{name}/ModelMonitor",
    }
    client("lambda", emulator).create_function(
        FunctionName=f"{name}-monitor",
        Runtime="python3.12",
        Role=role,
        Handler="monitor_function.handler",
        Code={"ZipFile": build(REPO_ROOT / "lambda", tmp_path / "lambda.zip").read_bytes()},
        Environment={"Variables": environment},
        Timeout=120,
    )
