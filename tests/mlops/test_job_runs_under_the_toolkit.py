"""The training job ``train --instance-count 2`` creates, run as SageMaker would run it: the
same hyperparameters handed to the real training toolkit on two "instances" (two processes on
this machine, each with its own /opt/ml), which download the job's code bundle from the
emulator's S3 and train together with distributed data parallel."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from local_stack.aws import client
from local_stack.ports import free_port
from ml.artifacts import WEIGHTS_FILE
from ml.package import archive_members
from tests.training import TOOLKIT_TRAIN, python_env, write_sagemaker_layout

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
# Two resolvable names for one machine, standing in for algo-1 and algo-2.
HOSTS = ["127.0.0.1", "localhost"]


def test_two_instance_job_trains_with_ddp_under_the_toolkit(
    jobs_stack, emulator, sample_dataset, tmp_path
):
    hyperparameters = [arg for value in TINY for arg in ("--hyperparameter", value)]
    name = jobs_stack.run("train", "--instance-count", "2", *hyperparameters)
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["ResourceConfig"]["InstanceCount"] == len(HOSTS)

    port = str(free_port())
    processes = {}
    for host in HOSTS:
        base = tmp_path / host
        hyperparameters = dict(job["HyperParameters"])
        # /opt/ml/checkpoints is not writable here; everything else is as the job says.
        hyperparameters["checkpoint-dir"] = json.dumps(str(base / "checkpoints"))
        # FullyReplicated channels: every instance gets the whole split.
        channels = [channel["ChannelName"] for channel in job["InputDataConfig"]]
        write_sagemaker_layout(base, hyperparameters, sample_dataset, channels, host, HOSTS)
        env = python_env(
            SAGEMAKER_BASE_DIR=str(base),
            TRAINING_JOB_NAME=name,
            MASTER_PORT=port,
            OMP_NUM_THREADS="1",
        )
        env.pop("PYTHONPATH")  # the code comes from the bundle the toolkit downloads
        log = (tmp_path / f"{host}.log").open("w")
        processes[host] = subprocess.Popen(
            [str(TOOLKIT_TRAIN)],
            env=env,
            cwd=base,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    codes = {host: process.wait(timeout=600) for host, process in processes.items()}
    logs = {host: (tmp_path / f"{host}.log").read_text() for host in HOSTS}
    assert codes == dict.fromkeys(HOSTS, 0), "\n".join(log[-4000:] for log in logs.values())

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
