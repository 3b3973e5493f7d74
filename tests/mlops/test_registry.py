"""``register``, ``approve``, ``reject``, ``deploy --model-package`` and the registry in
``status``, against the emulator. The emulator runs no training container, so what a job
uploads (model.tar.gz and the output.tar.gz holding ml/train.py's metrics.json) is put where
the job says, from a real training run."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import pytest

from local_stack.emulator import client
from tests.mlops.conftest import (
    INFERENCE_IMAGE,
    JobsStack,
    failure,
    output_archive,
    write_outputs,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Registry:
    stack: JobsStack
    group: str
    job: str


def serving_endpoint(sagemaker, stack: JobsStack, name: str, container: dict, instance_type):
    """An endpoint serving ``container``, as modules/sagemaker_endpoint creates one."""
    sagemaker.create_model(
        ModelName=f"{name}-model", ExecutionRoleArn=stack.role_arn, PrimaryContainer=container
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": instance_type,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


@pytest.fixture
def registry(jobs_stack: JobsStack, emulator, trained_model) -> Registry:
    """A model package group, and a completed training job whose outputs are in S3."""
    group = f"{jobs_stack.prefix}-models"
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    outputs = json.loads(jobs_stack.outputs_file.read_text())
    write_outputs(
        jobs_stack.outputs_file,
        {name: item["value"] for name, item in outputs.items()}
        | {"model_package_group_name": group, "inference_image_uri": INFERENCE_IMAGE},
    )
    job = jobs_stack.run("train", "--hyperparameter", "arch=resnet18")
    model = sagemaker.describe_training_job(TrainingJobName=job)["ModelArtifacts"]
    key = model["S3ModelArtifacts"].removeprefix(f"s3://{jobs_stack.bucket}/")
    s3.put_object(Bucket=jobs_stack.bucket, Key=key, Body=b"model")
    metrics = (trained_model.model_dir / "metrics.json").read_bytes()
    baseline = (trained_model.model_dir / "baseline.json").read_bytes()
    s3.put_object(
        Bucket=jobs_stack.bucket,
        Key=key.replace("model.tar.gz", "output.tar.gz"),
        Body=output_archive(metrics, baseline),
    )
    return Registry(jobs_stack, group, job)


def test_a_registered_version_waits_for_approval_with_what_a_reviewer_needs(
    registry, emulator, trained_model
):
    stack = registry.stack
    arn = stack.run("register", "--from-job", registry.job)
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelPackageGroupName"] == registry.group
    (container,) = package["InferenceSpecification"]["Containers"]
    job = sagemaker.describe_training_job(TrainingJobName=registry.job)
    assert container["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert container["Image"] == INFERENCE_IMAGE
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert package["MetadataProperties"]["GeneratedBy"] == job["TrainingJobArn"]

    code = s3.get_object(Bucket=stack.bucket, Key=f"code/{registry.job}/code.tar.gz")
    code_sha256 = hashlib.sha256(code["Body"].read()).hexdigest()
    metadata = package["CustomerMetadataProperties"]
    assert metadata["training_job"] == registry.job
    assert metadata["dataset"] == f"s3://{stack.bucket}/data/"
    assert metadata["code_sha256"] == code_sha256 == package["MetadataProperties"]["CommitId"]
    assert metadata["hyperparameter:arch"] == "resnet18"
    written = json.loads((trained_model.model_dir / "metrics.json").read_text())
    accuracy = written["test"]["test_accuracy"]
    assert float(metadata["metric:test_accuracy"]) == pytest.approx(accuracy, rel=1e-5)
    # Training checks an int8 copy by default; the version says whether its archive has one.
    assert metadata["precision"] == ("int8" if written["int8"]["shipped"] else "fp32")
    agreement = written["int8"]["agreement"]
    assert float(metadata["metric:int8_agreement"]) == pytest.approx(agreement, rel=1e-5)

    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    bucket, key = statistics["S3Uri"].removeprefix("s3://").split("/", 1)
    assert (bucket, key) == (stack.bucket, f"registry/{registry.group}/{registry.job}/metrics.json")
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["hyperparameters"]["arch"] == "resnet18"
    assert document["metrics"]["test_accuracy"] == pytest.approx(accuracy)
    assert document["code_sha256"] == code_sha256
    assert document["precision"] == metadata["precision"]

    # The traffic baseline the live version is monitored against, as its drift baseline.
    baseline = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert baseline["ContentType"] == "application/json"
    bucket, key = baseline["S3Uri"].removeprefix("s3://").split("/", 1)
    assert key == f"registry/{registry.group}/{registry.job}/baseline.json"
    stored = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored == json.loads((trained_model.model_dir / "baseline.json").read_text())


def test_a_job_without_a_baseline_registers_with_a_warning(registry, emulator, caplog):
    """A job trained before baselines were written: registered, and said unmonitorable."""
    stack, s3 = registry.stack, client("s3", emulator)
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=registry.job)
    output = job["ModelArtifacts"]["S3ModelArtifacts"].replace("model.tar.gz", "output.tar.gz")
    key = output.removeprefix(f"s3://{stack.bucket}/")
    s3.put_object(Bucket=stack.bucket, Key=key, Body=output_archive(b'{"history": []}'))
    with caplog.at_level(logging.WARNING, logger="mlops"):
        arn = stack.run("register", "--from-job", registry.job)
    package = client("sagemaker", emulator).describe_model_package(ModelPackageName=arn)
    assert "DriftCheckBaselines" not in package
    assert f"{registry.job} wrote no baseline.json" in caplog.text


def test_only_an_approved_version_deploys(registry, emulator, caplog, tmp_path):
    stack = registry.stack
    arn = stack.run("register", "--from-job", registry.job)
    message = failure(stack, caplog, "deploy", "--model-package", arn)
    assert message == (
        f"{arn} is PendingManualApproval, not Approved: review it and approve it first: "
        f"python -m mlops approve {arn}"
    )
    stack.run("approve", arn, "--note", "test accuracy as expected")
    package = client("sagemaker", emulator).describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"] == "test accuracy as expected"
    assert package["CustomerMetadataProperties"]["training_job"] == registry.job

    tfvars = tmp_path / "prod.tfvars"
    tfvars.write_text('name = "dog-breeds"\nmodel_data_url = "s3://b/models/a/model.tar.gz"\n')
    stack.run("deploy", "--model-package", arn, "--tfvars", str(tfvars))
    assert tfvars.read_text() == f'name = "dog-breeds"\nmodel_package_arn = "{arn}"\n'

    stack.run("reject", arn, "--note", "a bias found in review")
    message = failure(stack, caplog, "deploy", "--model-package", arn)
    assert message.startswith(f"{arn} is Rejected, not Approved: a rejected version never serves")


def test_versions_of_another_group_are_refused(registry, emulator, caplog):
    stack = registry.stack
    other_group = f"{stack.prefix}-elsewhere"
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_model_package_group(ModelPackageGroupName=other_group)
    other = sagemaker.create_model_package(
        ModelPackageGroupName=other_group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": INFERENCE_IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    for command in ("approve", "deploy --model-package"):
        message = failure(stack, caplog, *command.split(), other)
        assert (
            message
            == f"{other} is a version of {other_group}, not of this stack's {registry.group}"
        )
    message = failure(stack, caplog, "approve", "arn:aws:sagemaker:us-east-1:1:model/x")
    assert "is not a model package version ARN" in message


def test_the_live_version_cannot_be_rejected_and_status_marks_it(
    registry, emulator, caplog, capsys
):
    stack = registry.stack
    arn = stack.run("register", "--from-job", registry.job)
    stack.run("approve", arn)
    # The endpoint serving it, as modules/sagemaker_endpoint creates it from a package, with
    # the group spelled in another case (SageMaker's names are case-insensitive, its ARNs
    # lowercase): the guard compares parsed ARNs, not text.
    sagemaker = client("sagemaker", emulator)
    name = f"{stack.prefix}-endpoint"
    served = arn.replace(f"/{registry.group}/", f"/{registry.group.upper()}/")
    serving_endpoint(sagemaker, stack, name, {"ModelPackageName": served}, "ml.m5.large")
    message = failure(stack, caplog, "reject", arn, "--endpoint-name", name)
    assert message.startswith(f"{arn} is the version the endpoint serves: deploy another")

    second = stack.run("register", "--from-job", registry.job)
    capsys.readouterr()
    table = stack.run("status", "--endpoint-name", name)
    rows = {line.split()[1]: line for line in table.splitlines() if line.startswith("version")}
    assert rows[arn].split()[2] == "Approved"
    assert "LIVE;" in rows[arn]
    assert "test_accuracy=" in rows[arn]
    assert rows[second].split()[2] == "PendingManualApproval"
    assert "LIVE" not in rows[second]
    (endpoint_row,) = [line for line in table.splitlines() if line.startswith("endpoint")]
    assert f"{name}-config" in endpoint_row
    assert served in endpoint_row


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("features", "is a features job: it computed features, not a model"),
        ("no-output", "output.tar.gz is missing: the job wrote no metrics.json"),
    ],
)
def test_what_cannot_be_registered_says_why(registry, emulator, caplog, setup, expected):
    stack = registry.stack
    if setup == "features":
        job = stack.run("features")
    else:
        job = registry.job
        model = client("sagemaker", emulator).describe_training_job(TrainingJobName=job)
        output = model["ModelArtifacts"]["S3ModelArtifacts"].replace("model.tar", "output.tar")
        client("s3", emulator).delete_object(
            Bucket=stack.bucket, Key=output.removeprefix(f"s3://{stack.bucket}/")
        )
    message = failure(stack, caplog, "register", "--from-job", job)
    assert expected in message


def test_status_says_the_precision_each_endpoint_serves(registry, emulator, capsys):
    """An int8 archive serves int8 on x86 CPUs and fp32 on a GPU or Inferentia type (the handler
    chooses by device) or where INFERENCE_PRECISION says fp32; a model from a URL says none.
    (The emulator refuses Graviton types: test_specs covers their names.)"""
    stack = registry.stack
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    url = sagemaker.describe_training_job(TrainingJobName=registry.job)["ModelArtifacts"][
        "S3ModelArtifacts"
    ]
    shipped = {"history": [], "test": {"test_accuracy": 0.9}, "int8": {"shipped": True}}
    key = url.replace("model.tar.gz", "output.tar.gz").removeprefix(f"s3://{stack.bucket}/")
    s3.put_object(Bucket=stack.bucket, Key=key, Body=output_archive(json.dumps(shipped).encode()))
    arn = stack.run("register", "--from-job", registry.job)
    stack.run("approve", arn)
    package = {"ModelPackageName": arn}
    forced = {**package, "Environment": {"INFERENCE_PRECISION": "fp32"}}
    cases = {
        "x86": (package, "ml.c5.xlarge", f"{arn} (int8)"),
        "gpu": (package, "ml.g4dn.xlarge", f"{arn} (fp32)"),
        "inferentia": (package, "ml.inf1.xlarge", f"{arn} (fp32)"),
        "forced": (forced, "ml.m5.large", f"{arn} (fp32)"),
        "url": ({"Image": INFERENCE_IMAGE, "ModelDataUrl": url}, "ml.m5.large", f"; {url}"),
    }
    for case, (container, instance_type, _) in cases.items():
        serving_endpoint(sagemaker, stack, f"{stack.prefix}-{case}", container, instance_type)
    for case, (_, _, expected) in cases.items():
        capsys.readouterr()
        table = stack.run("status", "--endpoint-name", f"{stack.prefix}-{case}")
        (row,) = [line for line in table.splitlines() if line.startswith("endpoint")]
        assert row.endswith(expected), (case, row)
