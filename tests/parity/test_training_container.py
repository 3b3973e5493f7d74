"""ml/train.py in the training container's environment: a two-instance job under its training
toolkit, and checkpoints that cross versions (written here and resumed there, and back)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from torch.torch_version import TorchVersion

from local_stack.emulator import client
from local_stack.ports import LOOPBACK, free_port
from ml.artifacts import WEIGHTS_FILE
from mlops import specs
from tests.parity.conftest import DRIVERS, parity_python, versions_of
from tests.training import (
    REPO_ROOT,
    TINY_HYPERPARAMETERS,
    TINY_TRAIN_ARGS,
    python_env,
    run_train,
    split_args,
    staged_job_setting,
    training_job_logs,
    wait_for_training_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_two_instance_job_trains_with_ddp_under_the_containers_toolkit(
    emulator, local_mode, sample_dataset, tmp_path
):
    """The job request python -m mlops sends, run by local mode with the container's own
    `train` (and its PyTorch training toolkit) on both instances."""
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    setting = staged_job_setting(emulator, sample_dataset, tmp_path)
    name = specs.job_name("parity", "train", datetime.now(UTC))
    request = specs.training_job_request(
        name, setting, TINY_HYPERPARAMETERS, specs.Resources(instance_count=2)
    )
    local_mode.toolkit = parity_python("training").with_name("train")
    sagemaker.create_training_job(**request)

    # Another job of several instances on this machine may hold the rendezvous port first.
    job = wait_for_training_job(sagemaker, name, timeout=600)
    logs = training_job_logs(emulator, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert "joined process group: rank 1 of 2 (gloo)" in logs["algo-2"]
    assert str(local_mode.toolkit.parent) in logs["algo-1"]  # the container's Python ran it
    model = s3.get_object(Bucket=setting.bucket, Key=f"models/{name}/output/model.tar.gz")["Body"]
    with tarfile.open(fileobj=io.BytesIO(model.read())) as archive:
        assert WEIGHTS_FILE in archive.getnames()


@pytest.mark.parametrize("where", ["container", "here"])
def test_a_rank_leaves_its_process_group_without_the_teardown_that_can_hang(where):
    """Before torch 2.8, destroying a gloo group can deadlock on the GIL (pytorch#154976; seen
    here: the destructor joins a worker thread that waits for the GIL to free a tensor). On the
    container's torch the group is never destroyed and each rank ends at once, skipping the
    interpreter's teardown, its output flushed and its exit status kept; on torch 2.8 and later
    the group is destroyed and the process exits as usual."""
    python = parity_python("training") if where == "container" else Path(sys.executable)
    kept = TorchVersion(versions_of(python)["torch"]) < (2, 8)
    assert kept == (where == "container")  # the training image's torch 2.6, 2.8 or later here
    cluster = {"WORLD_SIZE": "2", "MASTER_ADDR": LOOPBACK, "MASTER_PORT": str(free_port())}
    ranks = [
        subprocess.Popen(
            [str(python), str(DRIVERS / "leave_process_group.py"), "3"],
            cwd=REPO_ROOT,
            env=python_env(**cluster, RANK=str(rank), OMP_NUM_THREADS="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a rank that hangs is killed with everything it started
        )
        for rank in (0, 1)
    ]
    try:
        outputs = [process.communicate(timeout=120)[0] for process in ranks]
    finally:
        for process in ranks:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    for rank, (process, output) in enumerate(zip(ranks, outputs, strict=True)):
        assert process.returncode == 3, output[-4000:]
        assert f"rank {rank} summed 3.0, group kept: {kept}" in output, output[-4000:]
        assert output.endswith("last words, unflushed") == kept, output[-4000:]
        assert ("teardown ran" in output) != kept, output[-4000:]


def train(python: Path, data: Path, root: Path, epochs: int) -> str:
    arguments = list(TINY_TRAIN_ARGS)
    arguments[arguments.index("--epochs") + 1] = str(epochs)
    result = run_train(*arguments, *split_args(data, root / "model", root / "ckpt"), python=python)
    return result.stdout + result.stderr


@pytest.mark.parametrize("direction", ["here-to-there", "there-to-here"])
def test_a_checkpoint_written_by_one_version_resumes_in_the_other(
    sample_dataset, tmp_path, direction
):
    here, there = Path(sys.executable), parity_python("training")
    first, second = (here, there) if direction == "here-to-there" else (there, here)
    train(first, sample_dataset, tmp_path, epochs=1)
    log = train(second, sample_dataset, tmp_path, epochs=2)
    assert "epoch 1 done, continuing at epoch 2" in log
    assert "test metrics:" in log
