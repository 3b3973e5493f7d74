"""Defaults of ml/train.py's options that change inside a SageMaker training container."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import options
from ml.package import inference_code_members, write_inference_code

pytestmark = pytest.mark.unit


def test_on_sagemaker_each_job_checkpoints_in_its_own_folder(monkeypatch):
    monkeypatch.setattr(options, "ON_SAGEMAKER", True)
    monkeypatch.setenv("TRAINING_JOB_NAME", "dog-breeds-tune-261124-090507-003-1a2b3c4d")
    args = options.parse_args([])
    assert args.checkpoint_dir == Path(
        "/opt/ml/checkpoints/dog-breeds-tune-261124-090507-003-1a2b3c4d"
    )
    assert args.include_inference_code is True


def test_elsewhere_each_run_configuration_checkpoints_in_its_own_folder(monkeypatch):
    monkeypatch.setattr(options, "ON_SAGEMAKER", False)
    base = ["--data-dir", "data/dogs", "--arch", "resnet18", "--image-size", "64"]
    args = options.parse_args(base)
    assert args.checkpoint_dir.parent == Path("build/checkpoints")
    assert args.checkpoint_dir.name.startswith("resnet18-head-64px-adamw-")
    others = [
        ["--no-freeze-backbone"],
        ["--image-size", "32"],
        ["--optimizer", "sgd"],
        ["--arch", "resnet34"],
        ["--data-dir", "data/cats"],
    ]
    folders = {options.parse_args([*base, *other]).checkpoint_dir for other in others}
    assert len(folders | {args.checkpoint_dir}) == len(others) + 1
    assert options.parse_args([*base, "--lr", "0.1"]).checkpoint_dir == args.checkpoint_dir
    explicit = options.parse_args([*base, "--checkpoint-dir", "ckpt"]).checkpoint_dir
    assert explicit == Path("ckpt")


def test_elsewhere_the_model_dir_holds_only_the_model(monkeypatch):
    monkeypatch.setattr(options, "ON_SAGEMAKER", False)
    assert options.parse_args([]).include_inference_code is False
    assert options.parse_args(["--include-inference-code"]).include_inference_code is True


def test_inference_code_in_the_model_dir_is_the_archives(tmp_path):
    write_inference_code(tmp_path)
    members = inference_code_members()
    assert {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()} == set(
        members
    )
    for name, content in members.items():
        assert (tmp_path / name).read_bytes() == content
