"""Helpers to run the real training entry point from tests, with tiny settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# ResNet18 from scratch at 32 px: the smallest run that still learns the sample classes.
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
)
SAMPLE_CLASSES = 4


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this repository's packages."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run_train(
    *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "ml.train", *args],
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
