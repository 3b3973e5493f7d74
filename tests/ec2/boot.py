"""Run ec2/train_on_boot.sh from an extracted code bundle, as the instance's unit runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_train_on_boot(
    code_dir: Path,
    work_dir: Path,
    bucket: str,
    run_id: str,
    hyperparameters: list[str],
    data_prefix: str = "data/",
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """The script's variables as train.env sets them; of the caller's environment only the
    standard AWS variables (the emulator's) and PATH reach it."""
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        "PATH": os.environ["PATH"],
        "HOME": str(work_dir),
        "BUCKET": bucket,
        "DATA_PREFIX": data_prefix,
        "CODE_PREFIX": "code/",
        "MODELS_PREFIX": "models/",
        "RUN_ID": run_id,
        "WORK_DIR": str(work_dir),
        "PYTHON": sys.executable,
        "STOP_AFTER_TRAINING": "false",
        "HYPERPARAMETERS": " ".join(hyperparameters),
        **(extra_env or {}),
    }
    return subprocess.run(
        ["bash", str(code_dir / "ec2" / "train_on_boot.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
