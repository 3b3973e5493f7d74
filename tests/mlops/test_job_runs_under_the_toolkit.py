"""The training job ``train --instance-count 2`` creates, run as SageMaker would run it: the
same hyperparameters handed to the real training toolkit on two "instances" (two processes on
this machine, each with its own /opt/ml), which download the job's code bundle from the
emulator's S3 and train together with distributed data parallel."""

from __future__ import annotations

import re

import pytest

from local_stack.emulator import client
from ml.artifacts import WEIGHTS_FILE
from ml.package import archive_members
from tests.training import TOOLKIT_HOSTS, run_toolkit_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TINY = (
    "arch=resnet18",
    "pretrained=false",
    "freeze-backbone=false",
    "image-size=32",
    "epochs=1",
    "batch-size=8",
    "workers=0",
    "seed=7",
)


def test_two_instance_job_trains_with_ddp_under_the_toolkit(
    jobs_stack, emulator, sample_dataset, tmp_path
):
    hyperparameters = [arg for value in TINY for arg in ("--hyperparameter", value)]
    name = jobs_stack.run("train", "--instance-count", "2", *hyperparameters)
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["ResourceConfig"]["InstanceCount"] == len(TOOLKIT_HOSTS)

    logs = run_toolkit_job(job, sample_dataset, tmp_path)
    assert "joined process group: rank 0 of 2 (gloo)" in logs["127.0.0.1"]
    assert "joined process group: rank 1 of 2 (gloo)" in logs["localhost"]
    assert re.search(r"training images in .* over 2 processes", logs["127.0.0.1"])
    assert "test metrics:" not in logs["localhost"], "only rank 0 reports"

    # Rank 0's model dir is what SageMaker tars into model.tar.gz: deployable as it is.
    model_dir = tmp_path / "127.0.0.1" / "model"
    written = {str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file()}
    assert set(archive_members(model_dir)) <= written
    assert "code/inference.py" in written
    assert not (tmp_path / "localhost" / "model" / WEIGHTS_FILE).exists()
