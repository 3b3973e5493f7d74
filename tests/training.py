"""Helpers to run the real training entry point from tests, with tiny settings."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from local_stack.ports import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
# The sagemaker-training toolkit's container entry point, as a training image runs it.
TOOLKIT_TRAIN = Path(sys.executable).with_name("train")

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


# Two resolvable names for one machine, standing in for algo-1 and algo-2.
TOOLKIT_HOSTS = ["127.0.0.1", "localhost"]


def run_toolkit_job(
    job: dict, dataset: Path, root: Path, train_executable: Path = TOOLKIT_TRAIN
) -> dict[str, str]:
    """A training job (DescribeTrainingJob's answer) run as SageMaker runs it on two
    instances: the toolkit's ``train`` in two processes, each with its own /opt/ml under
    ``root``, downloading the job's code bundle and training together. The log of each host;
    AssertionError with the logs when either fails."""
    port = str(free_port())
    processes = {}
    for host in TOOLKIT_HOSTS:
        base = root / host
        hyperparameters = dict(job["HyperParameters"])
        # /opt/ml/checkpoints is not writable here; everything else is as the job says.
        hyperparameters["checkpoint-dir"] = json.dumps(str(base / "checkpoints"))
        # FullyReplicated channels: every instance gets the whole split.
        channels = [channel["ChannelName"] for channel in job["InputDataConfig"]]
        write_sagemaker_layout(base, hyperparameters, dataset, channels, host, TOOLKIT_HOSTS)
        env = python_env(
            SAGEMAKER_BASE_DIR=str(base),
            TRAINING_JOB_NAME=job["TrainingJobName"],
            MASTER_PORT=port,
            OMP_NUM_THREADS="1",
        )
        env.pop("PYTHONPATH")  # the code comes from the bundle the toolkit downloads
        log = (root / f"{host}.log").open("w")
        processes[host] = subprocess.Popen(
            [str(train_executable)],
            env=env,
            cwd=base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 600
    try:
        codes = {
            host: process.wait(timeout=max(deadline - time.monotonic(), 0))
            for host, process in processes.items()
        }
    except subprocess.TimeoutExpired:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):  # the toolkit and its script
                os.killpg(process.pid, signal.SIGKILL)
        codes = {host: process.wait() for host, process in processes.items()}  # -9: killed
    logs = {host: (root / f"{host}.log").read_text() for host in TOOLKIT_HOSTS}
    assert codes == dict.fromkeys(TOOLKIT_HOSTS, 0), "\n".join(v[-4000:] for v in logs.values())
    return logs
