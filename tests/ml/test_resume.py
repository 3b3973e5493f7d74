"""A run killed mid-training resumes from its last checkpoint and ends where an
uninterrupted run with the same seed ends."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.artifacts import METRICS_FILE
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS, python_env, run_train, split_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_killed_run_resumes_after_its_last_epoch(
    tmp_path: Path, sample_dataset: Path, trained_model
):
    model_dir, checkpoint_dir = tmp_path / "model", tmp_path / "checkpoints"
    command = [
        sys.executable,
        "-m",
        "ml.train",
        *TINY_TRAIN_ARGS,
        *split_args(sample_dataset, model_dir, checkpoint_dir),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=python_env(PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first_log = []
    try:
        for line in process.stdout:
            first_log.append(line)
            if "saved checkpoint for epoch 1" in line:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(first_log)[-3000:]
    killed_at = torch.load(checkpoint_dir / "checkpoint.pt", weights_only=False)["epoch"]
    assert 1 <= killed_at < 3
    assert not (model_dir / METRICS_FILE).exists(), "a killed run must not leave final artifacts"

    resumed = run_train(*TINY_TRAIN_ARGS, *split_args(sample_dataset, model_dir, checkpoint_dir))
    assert f"continuing at epoch {killed_at + 1}" in resumed.stdout
    assert f"epoch {killed_at}/3 metrics" not in resumed.stdout, "finished epochs were redone"

    resumed_metrics = json.loads((model_dir / METRICS_FILE).read_text())
    reference = json.loads((trained_model.model_dir / METRICS_FILE).read_text())
    assert len(resumed_metrics["history"]) == 3
    for name, value in reference["test"].items():
        assert resumed_metrics["test"][name] == pytest.approx(value, abs=1e-3), name
    for got, want in zip(resumed_metrics["history"], reference["history"], strict=True):
        assert got == pytest.approx(want, abs=1e-3)


def test_resume_none_starts_fresh(tmp_path: Path, sample_dataset: Path, trained_model):
    """An explicit --resume none ignores the existing checkpoint."""
    model_dir, checkpoint_dir = tmp_path / "model", tmp_path / "checkpoints"
    shutil.copytree(trained_model.checkpoint_dir, checkpoint_dir)
    result = run_train(
        *TINY_TRAIN_ARGS,
        "--epochs",
        "1",
        "--resume",
        "none",
        *split_args(sample_dataset, model_dir, checkpoint_dir),
    )
    assert "resuming" not in result.stdout
    assert "epoch 1/1 metrics" in result.stdout
