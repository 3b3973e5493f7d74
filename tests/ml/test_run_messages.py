"""What ml.train says when a run cannot start as asked: one line naming the problem and the
flag that fixes it, exit status 2, no traceback; and the warning for a run that would train
badly as asked."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml import train
from ml.checkpoint import CheckpointMismatchError, check_same_run, load_checkpoint
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS, python_env, split_args


def run_train_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml.train", *args],
        cwd=REPO_ROOT,
        env=python_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert output.count(message) == 1, output[-3000:]
    assert "Traceback" not in output


@pytest.mark.integration
def test_a_checkpoint_of_another_configuration_is_refused_by_name(
    trained_model, sample_dataset: Path, tmp_path: Path
):
    """The first-hour crash: a full fine-tuning run meeting a frozen-backbone checkpoint (here
    the reverse) must name the difference, not fail inside load_state_dict."""
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(trained_model.checkpoint_dir, checkpoints)
    result = run_train_cli(
        *TINY_TRAIN_ARGS,
        "--freeze-backbone",
        "--image-size",
        "48",
        *split_args(sample_dataset, tmp_path / "model", checkpoints),
    )
    assert_one_line_error(
        result,
        f"checkpoint {checkpoints / 'checkpoint.pt'} is from another run configuration: "
        "--freeze-backbone was False, now True; --image-size was 32, now 48. "
        "Pass --resume none to start over there, or another --checkpoint-dir",
    )


@pytest.mark.unit
def test_other_classes_are_named_too():
    checkpoint = {
        "args": {
            "arch": "resnet18",
            "freeze_backbone": True,
            "optimizer": "adamw",
            "image_size": 64,
        },
        "class_names": ["Affenpinscher", "Afghan hound"],
    }
    args = train.parse_args(["--arch", "resnet18", "--image-size", "64"])
    check_same_run(checkpoint, Path("c.pt"), args, ["Affenpinscher", "Afghan hound"])
    with pytest.raises(CheckpointMismatchError, match=r"the classes were 2 \(Affenpinscher, "):
        check_same_run(checkpoint, Path("c.pt"), args, ["Akita", "Beagle", "Boxer"])


@pytest.mark.integration
def test_checkpoints_load_weights_only(trained_model):
    """Nothing but tensors and plain values: what S3 hands back cannot run code on load."""
    state = torch.load(trained_model.checkpoint_dir / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 3
    assert set(state["rng"]) >= {"python", "numpy", "torch"}


@pytest.mark.unit
def test_a_checkpoint_that_needs_unpickling_code_is_refused(tmp_path: Path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 1, "args": {"payload": Path("x")}}, path)
    with pytest.raises(
        CheckpointMismatchError, match="cannot be read as a weights-only checkpoint"
    ):
        load_checkpoint(path)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("flags", "warned"),
    [
        (["--no-pretrained"], True),
        (["--no-pretrained", "--no-freeze-backbone"], False),
        (["--backbone-weights", "imagenet.pth"], False),
        (["--no-pretrained", "--backbone-weights", "imagenet.pth"], False),
    ],
)
def test_a_frozen_random_backbone_is_warned_about(flags, warned, caplog):
    with caplog.at_level(logging.WARNING, logger="ml.train"):
        train.parse_args(flags)
    warning = "the backbone is frozen but randomly initialised"
    assert (warning in caplog.text) is warned
    if warned:
        assert "--no-freeze-backbone" in caplog.text


@pytest.mark.integration
def test_pretrained_weights_out_of_reach_are_one_line(sample_dataset: Path, tmp_path: Path):
    """Offline (here: HTTPS through a proxy that is not there), --pretrained says where the
    weights would be cached and what to pass instead."""
    args = [a for a in TINY_TRAIN_ARGS if a != "--no-pretrained"]
    result = run_train_cli(
        *args,
        "--pretrained",
        *split_args(sample_dataset, tmp_path / "model", tmp_path / "checkpoints"),
        TORCH_HOME=str(tmp_path / "torch"),
        https_proxy="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    assert_one_line_error(result, "could not download the ImageNet weights of resnet18 (https://")
    output = result.stdout + result.stderr
    assert f"into {cache}: " in output
    assert "pass --backbone-weights FILE (a local ImageNet state dict) or --no-pretrained" in output
