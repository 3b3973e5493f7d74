"""Helpers to run the real training entry point from tests, with tiny settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from local_stack.emulator.local_mode import DEFAULT_TOOLKIT

REPO_ROOT = Path(__file__).resolve().parent.parent
# The sagemaker-training toolkit's container entry point, as a training image runs it.
TOOLKIT_TRAIN = DEFAULT_TOOLKIT

# ResNet18 from scratch at 32 px: the smallest run that still learns the sample classes. No
# int8 copy (on by default): the shared trained_model fixture makes one.
TINY_TRAIN_ARGS = (
    "--arch",
    "resnet18",
    "--no-pretrained",
    "--no-freeze-backbone",
    "--image-size",
    "32",
    "--epochs",
    "3",
    "--batch-size",
    "16",
    "--workers",
    "0",
    "--seed",
    "7",
    "--log-interval",
    "5",
    "--no-package-int8",
)
SAMPLE_CLASSES = 4
# The same run as a training job's hyperparameters, one epoch (the jobs local mode runs).
TINY_HYPERPARAMETERS = {
    "arch": "resnet18",
    "pretrained": False,
    "freeze-backbone": False,
    "image-size": 32,
    "epochs": 1,
    "batch-size": 8,
    "workers": 0,
    "seed": 7,
    "package-int8": False,
}


def hyperparameter_flags(values: dict[str, object]) -> list[str]:
    """``--hyperparameter NAME=VALUE`` for each, as ``python -m mlops`` takes them."""
    return [
        flag
        for name, value in values.items()
        for flag in ("--hyperparameter", f"{name}={json.dumps(value)}")
    ]


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this repository's packages."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run_module(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m module args`` from the repository root, its output captured, never raising."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_train(
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    python: Path | str = sys.executable,
) -> subprocess.CompletedProcess:
    """``python -m ml.train ARGS`` (this interpreter unless another, e.g. a parity
    environment's, is given)."""
    result = subprocess.run(
        [str(python), "-m", "ml.train", *args],
        cwd=REPO_ROOT,
        env=env or python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ml.train failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-4000:]}"
        )
    return result


def split_args(data_dir: Path, model_dir: Path, checkpoint_dir: Path) -> list[str]:
    return [
        "--data-dir",
        str(data_dir),
        "--model-dir",
        str(model_dir),
        "--checkpoint-dir",
        str(checkpoint_dir),
        "--output-data-dir",
        str(model_dir.parent / "output"),
    ]


def write_sagemaker_layout(
    base: Path,
    hyperparameters: dict[str, str],
    dataset: Path,
    channels: list[str],
    current_host: str = "localhost",
    hosts: list[str] | None = None,
) -> None:
    """``base`` laid out as SageMaker lays out /opt/ml before starting a training container:
    the config files, one folder per data channel (a copy of that split of ``dataset``) and
    output/data. ``hyperparameters`` are already encoded, as SageMaker passes them."""
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (base / "output" / "data").mkdir(parents=True)  # present in every training container
    for channel in channels:
        shutil.copytree(dataset / channel, base / "input" / "data" / channel)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": current_host, "hosts": hosts or [current_host]})
    )
    (config / "inputdataconfig.json").write_text(
        json.dumps({channel: {"TrainingInputMode": "File"} for channel in channels})
    )


TRAINING_JOB_ENDS = ("Completed", "Failed", "Stopped")
TRAINING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312"


def staged_job_setting(emulator, dataset: Path, scratch: Path):
    """A new bucket holding ``dataset`` under data/ and this checkout's code bundle, and the
    job setting ``python -m mlops`` would build for them (mlops.specs.JobSetting)."""
    from local_stack.emulator import client
    from ml.s3_transfer import upload_dir
    from mlops import specs
    from mlops.bundle import build_code_bundle

    bucket = f"jobs-{uuid.uuid4().hex[:8]}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=bucket)
    upload_dir(dataset, f"s3://{bucket}/data/", client=s3)
    build_code_bundle(scratch / "code.tar.gz")
    s3.upload_file(str(scratch / "code.tar.gz"), bucket, "code/staged/code.tar.gz")
    return specs.JobSetting(
        role_arn="arn:aws:iam::123456789012:role/staged-training",
        image_uri=TRAINING_IMAGE,
        region=emulator.region,
        bucket=bucket,
        code_uri=f"s3://{bucket}/code/staged/code.tar.gz",
        data_uri=f"s3://{bucket}/data/",
    )


def wait_for_training_job(
    sagemaker, name: str, statuses: tuple[str, ...] = TRAINING_JOB_ENDS, timeout: float = 300
) -> dict:
    """DescribeTrainingJob's answer once the job's status is one of ``statuses``; past
    ``timeout`` an assertion error with the job's secondary status and its last message."""
    deadline = time.monotonic() + timeout
    while (job := sagemaker.describe_training_job(TrainingJobName=name))[
        "TrainingJobStatus"
    ] not in statuses:
        if time.monotonic() > deadline:
            last = (job.get("SecondaryStatusTransitions") or [{}])[-1]
            raise AssertionError(
                f"{name} still {job['TrainingJobStatus']} after {timeout:.0f} s: "
                f"{job.get('SecondaryStatus')}, {last.get('StatusMessage', 'no message')}"
            )
        time.sleep(0.5)
    return job


def wait_for_tuning_job(sagemaker, name: str, timeout: float = 300) -> dict:
    """DescribeHyperParameterTuningJob's answer once the tuning job has ended."""
    deadline = time.monotonic() + timeout
    while (
        tuning := sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    )["HyperParameterTuningJobStatus"] in ("InProgress", "Stopping"):
        assert time.monotonic() < deadline, tuning["TrainingJobStatusCounters"]
        time.sleep(0.5)
    return tuning


def training_job_logs(emulator, name: str) -> dict[str, str]:
    """Each instance's CloudWatch Logs stream of the job (algo-1, algo-2...) as text."""
    from local_stack.emulator import client
    from local_stack.emulator.job_logs import LOG_GROUP

    logs = client("logs", emulator)
    streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/")
    return {
        stream["logStreamName"].split("/")[1].rsplit("-", 1)[0]: "\n".join(
            event["message"]
            for event in logs.get_log_events(
                logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"]
            )["events"]
        )
        for stream in streams["logStreams"]
    }
