"""Head-only training on cached backbone features (ml/features.py): the same metrics as the
uncached path without augmentation, a cache that is reused only when its manifest matches,
and a cache alone (no images) enough for a trial."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ml.artifacts import METRICS_FILE
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS, python_env, run_train, split_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A frozen backbone (random, as no weights can be downloaded here: the features are as fixed
# as pretrained ones would be) and no augmentation.
HEAD_ONLY = [
    *[a for a in TINY_TRAIN_ARGS if a != "--no-freeze-backbone"],
    "--freeze-backbone",
    "--no-augment",
    "--epochs",
    "3",
]


def metrics(model_dir: Path) -> dict:
    return json.loads((model_dir / METRICS_FILE).read_text())


def train_head(data: Path, root: Path, *extra: str):
    return run_train(*HEAD_ONLY, *split_args(data, root / "model", root / "checkpoints"), *extra)


@pytest.fixture(scope="module")
def uncached(sample_dataset, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("uncached")
    train_head(sample_dataset, root)
    return root / "model"


def test_cached_features_give_the_metrics_of_the_uncached_run(sample_dataset, uncached, tmp_path):
    result = train_head(sample_dataset, tmp_path, "--feature-cache", str(tmp_path / "cache"))
    assert "computing train features" in result.stdout
    cached, reference = metrics(tmp_path / "model"), metrics(uncached)
    for got, want in zip(cached["history"], reference["history"], strict=True):
        assert got == pytest.approx(want, abs=1e-3)
    assert cached["test"] == pytest.approx(reference["test"], abs=1e-3)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "test.json",
        "test.pt",
        "train.json",
        "train.pt",
        "valid.json",
        "valid.pt",
    ]


def test_a_matching_cache_is_reused_and_a_changed_dataset_recomputed(sample_dataset, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_dataset, data)
    cache = tmp_path / "cache"
    train_head(data, tmp_path / "first", "--feature-cache", str(cache))
    again = train_head(data, tmp_path / "second", "--feature-cache", str(cache))
    assert "train features from the cache" in again.stdout
    assert "computing" not in again.stdout

    image = next((data / "train" / "001.Affenpinscher").iterdir())
    os.utime(image, ns=(0, 0))  # the same bytes, another modification time
    changed = train_head(data, tmp_path / "third", "--feature-cache", str(cache))
    assert "computing train features" in changed.stdout
    assert "it differs in files" in changed.stdout
    assert "valid features from the cache" in changed.stdout

    other_size = train_head(
        data, tmp_path / "fourth", "--feature-cache", str(cache), "--image-size", "40"
    )
    assert "it differs in image_size, preprocessing" in other_size.stdout

    other_weights = train_head(  # another random backbone: its fingerprint differs
        data, tmp_path / "fifth", "--feature-cache", str(cache), "--image-size", "40", "--seed", "8"
    )
    assert "it differs in weights" in other_weights.stdout


def test_a_cache_alone_serves_a_trial_without_images(sample_dataset, tmp_path):
    """What a tuning trial gets on SageMaker: the features channel, no images."""
    cache = tmp_path / "cache"
    train_head(sample_dataset, tmp_path / "first", "--feature-cache", str(cache))
    # int8 on, as by default: it needs images, so the trial goes without and says why.
    trial = train_head(
        tmp_path / "no-images", tmp_path / "trial", "--feature-cache", str(cache), "--package-int8"
    )
    assert "no images in" in trial.stdout
    assert "files the cache" in trial.stdout
    assert "no int8 model: it is calibrated and checked on the valid and test images" in (
        trial.stdout + trial.stderr
    )
    assert "int8" not in metrics(tmp_path / "trial" / "model")
    assert (
        metrics(tmp_path / "trial" / "model")["test"]
        == metrics(tmp_path / "first" / "model")["test"]
    )


def test_the_cache_needs_a_frozen_backbone_and_no_augmentation(tmp_path):
    for flags in (["--augment"], ["--no-freeze-backbone"]):
        result = run_train(
            *HEAD_ONLY,
            *flags,
            "--feature-cache",
            str(tmp_path),
            "--data-dir",
            str(tmp_path),
            check=False,
        )
        assert result.returncode == 2
        assert "--feature-cache needs --freeze-backbone and --no-augment" in result.stderr


def test_a_local_sweep_computes_the_features_once_and_reports_the_best(sample_dataset, tmp_path):
    args = [a for a in HEAD_ONLY if a not in ("--freeze-backbone", "--no-augment")]
    args = [a for i, a in enumerate(args) if a != "--epochs" and args[i - 1] != "--epochs"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.sweep",
            "--trials",
            "3",
            "--epochs-range",
            "1",
            "3",
            "--feature-cache",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "sweep"),
            "--",
            "--data-dir",
            str(sample_dataset),
            *args,
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("computing train features") == 1
    assert result.stdout.count("train features from the cache") == 2
    results = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert sorted(r["trial"] for r in results) == [1, 2, 3]
    losses = [r["valid_loss"] for r in results]
    assert losses == sorted(losses)
    assert f"best trial: {results[0]['trial']} " in result.stdout
    assert (Path(results[0]["model_dir"]) / METRICS_FILE).is_file()
