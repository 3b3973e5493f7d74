"""Shared fixtures: the AWS emulator, the terraform binary and applied stack, sample data and a
trained model."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.emulator import Emulator, connect_or_start
from local_stack.environment import overlaid_environment


@dataclass(frozen=True)
class TrainedModel:
    model_dir: Path
    checkpoint_dir: Path
    log: str


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One AWS emulator for the whole session, with the standard AWS variables exported."""
    running = connect_or_start()
    try:
        with overlaid_environment(running.environment()):
            yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    """The terraform binary; skipped with the reason when missing, but never in CI."""
    binary = shutil.which("terraform")
    if binary is None:
        reason = "terraform is not on PATH; install Terraform >= 1.7 to run the Terraform tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run every test)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def applied_stack(tmp_path_factory, emulator, terraform_binary):
    """The whole Terraform stack applied to the emulator once, destroyed at the end."""
    from tests.stack import apply_stack

    with apply_stack(tmp_path_factory.mktemp("tf-apply"), emulator) as stack:
        yield stack


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory) -> Path:
    """A small dogImages-shaped dataset with learnable classes, generated once."""
    from local_stack.sample_data import generate
    from tests.training import SAMPLE_CLASSES

    out = tmp_path_factory.mktemp("data") / "dogImages"
    return generate(out, classes=SAMPLE_CLASSES, per_class=24, eval_per_class=6, size=48, seed=3)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, sample_dataset: Path) -> TrainedModel:
    """One real training run (tiny settings) whose artifacts several tests inspect."""
    from tests.training import TINY_TRAIN_ARGS, run_train, split_args

    root = tmp_path_factory.mktemp("trained")
    model_dir, checkpoint_dir = root / "model", root / "checkpoints"
    result = run_train(*TINY_TRAIN_ARGS, *split_args(sample_dataset, model_dir, checkpoint_dir))
    return TrainedModel(model_dir, checkpoint_dir, result.stdout + result.stderr)


@pytest.fixture(scope="session")
def model_archive(tmp_path_factory, trained_model: TrainedModel) -> Path:
    from ml.package import build_model_archive

    return build_model_archive(
        trained_model.model_dir, tmp_path_factory.mktemp("archive") / "model.tar.gz"
    )


@pytest.fixture(scope="module")
def local_endpoint(model_archive: Path):
    """The trained model on the SageMaker PyTorch serving stack (TorchServe). Module scope:
    the toolkit cannot run two model servers on one host, so none outlives its tests (the
    demo test starts its own)."""
    from local_stack.serve import LocalEndpoint

    with LocalEndpoint(model_archive, port=0) as endpoint:
        yield endpoint
