"""Real distributed data parallel: two processes under torchrun (gloo on CPU)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.artifacts import METRICS_FILE, WEIGHTS_FILE
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS, python_env, split_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_ranks_share_the_work_and_end_identical(tmp_path: Path, sample_dataset: Path):
    record_dir = tmp_path / "record"
    record_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(REPO_ROOT / "tests" / "ml" / "ddp_probe.py"),
        *TINY_TRAIN_ARGS,
        "--epochs",
        "2",
        *split_args(sample_dataset, tmp_path / "model", tmp_path / "checkpoints"),
    ]
    env = python_env(DDP_PROBE_DIR=str(record_dir), OMP_NUM_THREADS="1")
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "rank 1 of 2 (gloo)" in log

    weights = [torch.load(record_dir / f"weights_rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), f"{name} differs between ranks"

    epochs = [json.loads((record_dir / f"indices_rank{r}.json").read_text()) for r in (0, 1)]
    train_size = len(list((sample_dataset / "train").rglob("*.jpg")))
    for rank0, rank1 in zip(*epochs, strict=True):
        assert rank0["epoch"] == rank1["epoch"]
        assert not set(rank0["indices"]) & set(rank1["indices"]), "ranks saw the same images"
        assert len(rank0["indices"]) == len(rank1["indices"]) == train_size // 2
        assert set(rank0["indices"]) | set(rank1["indices"]) == set(range(train_size))
    assert epochs[0][0]["indices"] != epochs[0][1]["indices"], "set_epoch must reshuffle"

    assert (tmp_path / "model" / "rank0" / WEIGHTS_FILE).is_file()
    assert (tmp_path / "model" / "rank0" / METRICS_FILE).is_file()
    assert (tmp_path / "checkpoints" / "rank0" / "checkpoint.pt").is_file()
    assert not (tmp_path / "model" / "rank1").exists(), "rank 1 wrote model artifacts"
    assert not (tmp_path / "checkpoints" / "rank1").exists(), "rank 1 wrote a checkpoint"
    assert log.count("test metrics:") == 1, "only rank 0 reports metrics"


def run_probe(tmp_path: Path, record_dir: Path, *args: str) -> str:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(REPO_ROOT / "tests" / "ml" / "ddp_probe.py"),
        *args,
    ]
    env = python_env(DDP_PROBE_DIR=str(record_dir), OMP_NUM_THREADS="1")
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    return log


def test_two_ranks_on_separate_disks_share_the_feature_computation(
    tmp_path: Path, sample_dataset: Path
):
    """Each rank computes half of each split and gathers the rest in memory; rank 0 alone
    writes the cache. The second run finds a cache on rank 0's disk and none on rank 1's:
    both compute again, together, instead of one waiting for the other forever."""
    record_dir = tmp_path / "record"
    record_dir.mkdir()
    args = [
        *TINY_TRAIN_ARGS,
        "--epochs",
        "1",
        "--freeze-backbone",
        "--no-augment",
        "--feature-cache",
        str(tmp_path / "features"),
        *split_args(sample_dataset, tmp_path / "model", tmp_path / "checkpoints"),
    ]
    first = run_probe(tmp_path, record_dir, *args)
    assert first.count("computing train features") == 2  # both ranks, their shards
    assert (tmp_path / "features" / "rank0" / "train.json").is_file()
    assert not (tmp_path / "features" / "rank1").exists(), "rank 1 wrote a cache"

    second = run_probe(tmp_path, record_dir, *args, "--resume", "none")
    assert "computing train features" in second
    assert "(none yet)" in second  # rank 1's empty disk decided it
    weights = [torch.load(record_dir / f"weights_rank{r}.pt", weights_only=True) for r in (0, 1)]
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), f"{name} differs between ranks"
