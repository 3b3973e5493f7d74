"""The training job ``train --instance-count 2`` creates, run by the emulator's local mode as
SageMaker runs it: the job's hyperparameters handed to the PyTorch training toolkit on two
"instances" (two processes, each with its own /opt/ml), which download the job's code bundle
and data from the emulator's S3 and train together with distributed data parallel."""

from __future__ import annotations

import io
import re
import tarfile

import pytest

from local_stack.emulator import client
from ml.artifacts import WEIGHTS_FILE
from ml.package import archive_members
from ml.s3_transfer import upload_dir
from tests.training import (
    TINY_HYPERPARAMETERS,
    hyperparameter_flags,
    training_job_logs,
    wait_for_training_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_instance_job_trains_with_ddp_under_the_toolkit(
    jobs_stack, emulator, local_mode, sample_dataset, tmp_path
):
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    for split in ("train", "valid", "test"):  # the stack's placeholders, for a real dataset
        s3.delete_object(Bucket=jobs_stack.bucket, Key=f"data/{split}/001.Affenpinscher/1.jpg")
    upload_dir(sample_dataset, f"s3://{jobs_stack.bucket}/data/", client=s3)
    hyperparameters = hyperparameter_flags(TINY_HYPERPARAMETERS)

    name = jobs_stack.run("train", "--instance-count", "2", *hyperparameters)
    job = wait_for_training_job(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ResourceConfig"]["InstanceCount"] == 2

    logs = training_job_logs(emulator, name)
    assert "joined process group: rank 0 of 2 (gloo)" in logs["algo-1"]
    assert "joined process group: rank 1 of 2 (gloo)" in logs["algo-2"]
    assert re.search(r"training images in .* over 2 processes", logs["algo-1"])
    assert "test metrics:" not in logs["algo-2"], "only rank 0 reports"

    # Rank 0's model dir became model.tar.gz: everything the endpoint needs is in it.
    url = job["ModelArtifacts"]["S3ModelArtifacts"]
    body = s3.get_object(Bucket=jobs_stack.bucket, Key=url.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        archive.extractall(tmp_path / "model", filter="data")
    model_dir = tmp_path / "model"
    written = {str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file()}
    assert set(archive_members(model_dir)) <= written
    assert {WEIGHTS_FILE, "code/inference.py"} <= written
