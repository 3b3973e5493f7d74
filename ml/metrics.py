"""The metric lines ``ml/train.py`` logs, and the regexes SageMaker uses to read them.

Each epoch (rank 0 only) logs one line such as::

    epoch 3/5 metrics: train_loss=0.412345 train_accuracy=0.871000 valid_loss=0.398765 \
        valid_accuracy=0.880000   (one line)

and the run ends with::

    test metrics: test_loss=0.401234 test_accuracy=0.876543

Losses are per-sample means (sum of per-sample losses / number of samples), so values are
comparable across batch sizes and instance counts: the tuning objective is ``valid_loss``.
"""

from __future__ import annotations

METRIC_NAMES = (
    "train_loss",
    "train_accuracy",
    "valid_loss",
    "valid_accuracy",
    "test_loss",
    "test_accuracy",
)
NUMBER = r"([0-9]+\.[0-9]+)"
METRIC_DEFINITIONS = [{"Name": name, "Regex": rf"{name}={NUMBER}"} for name in METRIC_NAMES]
TUNING_OBJECTIVE = {"Type": "Minimize", "MetricName": "valid_loss"}


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.6f}" for name, value in metrics.items())
