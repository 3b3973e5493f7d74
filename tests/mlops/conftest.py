"""A stack for job tests: a bucket holding a dataset, a training role, and the outputs file
`terraform output -json` would write for them (the Terraform-applied stack has its own test)."""

from __future__ import annotations

import io
import json
import logging
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.emulator import client
from mlops.cli import main

TRAINING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312"


@dataclass(frozen=True)
class JobsStack:
    bucket: str
    role_arn: str
    outputs_file: Path
    prefix: str

    def run(self, command: str, *args: str) -> str:
        """``python -m mlops COMMAND`` in-process, with this stack's outputs and prefix."""
        return main(
            [command, "--terraform-outputs", str(self.outputs_file), "--prefix", self.prefix, *args]
        )


def failure(stack: JobsStack, caplog, *args: str) -> str:
    """The one error a command refused with (exit 2) logs."""
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        stack.run(*args)
    assert exit_info.value.code == 2
    (message,) = caplog.messages
    return message


def output_archive(metrics: bytes, baseline: bytes | None = None) -> bytes:
    """A training job's output.tar.gz holding its metrics.json (and baseline.json)."""
    buffer = io.BytesIO()
    members = {"metrics.json": metrics, "baseline.json": baseline}
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            if content is not None:
                member = tarfile.TarInfo(name)
                member.size = len(content)
                archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def write_outputs(path: Path, values: dict[str, object]) -> Path:
    path.write_text(
        json.dumps(
            {name: {"sensitive": False, "type": "string", "value": v} for name, v in values.items()}
        )
    )
    return path


@pytest.fixture
def jobs_stack(emulator, tmp_path) -> JobsStack:
    token = uuid.uuid4().hex[:6]
    bucket = f"jobs-{token}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=bucket)
    for split in ("train", "valid", "test"):
        s3.put_object(Bucket=bucket, Key=f"data/{split}/001.Affenpinscher/1.jpg", Body=b"jpeg")
    role = client("iam", emulator).create_role(
        RoleName=f"jobs-{token}-training",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    outputs = write_outputs(
        tmp_path / "outputs.json",
        {
            "bucket_name": bucket,
            "sagemaker_training_role_arn": role["Arn"],
            "training_image_uri": TRAINING_IMAGE,
            "endpoint_name": None,
        },
    )
    return JobsStack(bucket, role["Arn"], outputs, prefix=f"t{token}")


INFERENCE_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"


@pytest.fixture
def serving_stack(jobs_stack: JobsStack, emulator) -> JobsStack:
    """An endpoint shaped like the Terraform module's (one variant, network isolation, tags)
    serving run-1, with run-2 uploaded next to it."""
    s3 = client("s3", emulator)
    for run in ("run-1", "run-2"):
        s3.put_object(Bucket=jobs_stack.bucket, Key=f"models/{run}/model.tar.gz", Body=b"tar")
    sagemaker = client("sagemaker", emulator)
    name = f"{jobs_stack.prefix}-endpoint"
    tags = [{"Key": "Team", "Value": "ml-platform"}]
    sagemaker.create_model(
        ModelName=f"{name}-model-1",
        ExecutionRoleArn=jobs_stack.role_arn.replace("-training", "-endpoint"),
        PrimaryContainer={
            "Image": INFERENCE_IMAGE,
            "ModelDataUrl": f"s3://{jobs_stack.bucket}/models/run-1/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        EnableNetworkIsolation=True,
        Tags=tags,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model-1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=tags,
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config-1", Tags=tags)
    outputs = json.loads(jobs_stack.outputs_file.read_text())
    write_outputs(
        jobs_stack.outputs_file,
        {name_: item["value"] for name_, item in outputs.items()}
        | {
            "endpoint_name": name,
            "endpoint_config_name": f"{name}-config-1",
            "endpoint_model": f"s3://{jobs_stack.bucket}/models/run-1/model.tar.gz",
            "endpoint_rollback_alarm_names": [],
        },
    )
    return jobs_stack
