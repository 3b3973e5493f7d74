"""ml/train.py end to end: it learns, writes its artifacts, logs parseable metrics, and runs
under the SageMaker training toolkit exactly as a training container would run it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from PIL import Image

from ml.artifacts import CLASS_NAMES_FILE, CONFIG_FILE, CURVES_FILE, METRICS_FILE, WEIGHTS_FILE
from ml.metrics import METRIC_DEFINITIONS
from tests.training import (
    REPO_ROOT,
    SAMPLE_CLASSES,
    TOOLKIT_TRAIN,
    python_env,
    write_sagemaker_layout,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_training_learns_the_sample_breeds(trained_model):
    metrics = json.loads((trained_model.model_dir / METRICS_FILE).read_text())
    assert metrics["test"]["test_accuracy"] >= 0.9, metrics
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3]


def test_training_writes_every_artifact(trained_model):
    model_dir = trained_model.model_dir
    class_names = json.loads((model_dir / CLASS_NAMES_FILE).read_text())
    assert class_names == ["Affenpinscher", "Afghan hound", "Airedale terrier", "Akita"]
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    assert config == {"arch": "resnet18", "image_size": 32, "num_classes": SAMPLE_CLASSES}
    state = torch.load(model_dir / WEIGHTS_FILE, weights_only=True)
    assert state["fc.weight"].shape == (SAMPLE_CLASSES, 512)
    with Image.open(model_dir / CURVES_FILE) as curves:
        assert curves.format == "PNG"
        assert curves.width > 400
    checkpoint = torch.load(trained_model.checkpoint_dir / "checkpoint.pt", weights_only=False)
    assert checkpoint["epoch"] == 3
    assert not list(model_dir.glob(".*")), "temporary files left behind"


def test_metric_regexes_match_the_real_log_lines(trained_model):
    """The regexes SageMaker tuning uses, against what this run actually printed."""
    metrics = json.loads((trained_model.model_dir / METRICS_FILE).read_text())
    for definition in METRIC_DEFINITIONS:
        values = [float(v) for v in re.findall(definition["Regex"], trained_model.log)]
        name = definition["Name"]
        if name.startswith("test_"):
            assert values == [pytest.approx(metrics["test"][name], abs=1e-6)]
        else:
            assert values == pytest.approx([row[name] for row in metrics["history"]], abs=1e-6)


def test_runs_under_the_sagemaker_training_toolkit(tmp_path: Path, sample_dataset: Path):
    """The toolkit's own `train` entry point, with a local SAGEMAKER_BASE_DIR."""
    base = tmp_path / "opt_ml"
    code = tmp_path / "code_bundle"
    shutil.copytree(REPO_ROOT / "ml", code / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    hyperparameters = {  # as SageMaker passes them: names without dashes, values as JSON
        "arch": "resnet18",
        "pretrained": "false",
        "freeze-backbone": "false",
        "image-size": 32,
        "epochs": 2,
        "batch-size": 16,
        "workers": 0,
        "checkpoint-dir": str(tmp_path / "checkpoints"),
        "sagemaker_program": "ml/train.py",
        "sagemaker_submit_directory": str(code),
    }
    write_sagemaker_layout(
        base,
        {k: json.dumps(v) if not isinstance(v, str) else v for k, v in hyperparameters.items()},
        sample_dataset,
        ["train", "valid", "test"],
    )
    env = python_env(SAGEMAKER_BASE_DIR=str(base))
    env.pop("PYTHONPATH")  # the toolkit alone must make the bundle importable
    result = subprocess.run(
        [str(TOOLKIT_TRAIN)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "Reporting training SUCCESS" in log
    assert re.search(METRIC_DEFINITIONS[3]["Regex"], log)  # valid_accuracy
    model_dir = base / "model"
    assert {p.name for p in model_dir.iterdir()} >= {WEIGHTS_FILE, CLASS_NAMES_FILE, METRICS_FILE}
    assert (base / "output" / "success").exists()
