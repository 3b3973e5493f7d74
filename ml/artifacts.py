"""The files a training run leaves in the model dir, which ``ml.package`` turns into model.tar.gz.

- ``model.pth``: the fine-tuned weights (a plain state dict, loadable with weights_only=True)
- ``model_config.json``: architecture, image size and number of classes
- ``class_names.json``: breed names, index = class index
- ``metrics.json``: per-epoch history and final test metrics
- ``training_curves.png``: loss and accuracy per epoch
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ml.files import atomic_write

WEIGHTS_FILE = "model.pth"
INT8_WEIGHTS_FILE = "model_int8.pth"  # the int8 copy, for x86 CPU endpoints (ml/quantize.py)
CONFIG_FILE = "model_config.json"
CLASS_NAMES_FILE = "class_names.json"
METRICS_FILE = "metrics.json"
CURVES_FILE = "training_curves.png"
MODEL_FILES = (WEIGHTS_FILE, CONFIG_FILE, CLASS_NAMES_FILE)


def write_json(path: Path, payload) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"))


def plot_curves(history: list[dict], test_metrics: dict, path: Path) -> None:
    """Loss and accuracy per epoch for train and valid, with the final test result as a star
    at the last epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for metric, axes in (("loss", loss_axes), ("accuracy", accuracy_axes)):
        for split in ("train", "valid"):
            axes.plot(
                epochs, [row[f"{split}_{metric}"] for row in history], marker="o", label=split
            )
        if f"test_{metric}" in test_metrics and epochs:
            axes.plot(
                epochs[-1],
                test_metrics[f"test_{metric}"],
                marker="*",
                markersize=14,
                linestyle="none",
                label=f"test ({test_metrics[f'test_{metric}']:.3f})",
            )
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.legend()
        axes.grid(alpha=0.3)
    loss_axes.set_title("loss (per-sample mean)")
    accuracy_axes.set(title="accuracy", ylim=(0, 1))
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    plt.close(figure)


def write_metrics(
    folder: Path, history: list[dict], test_metrics: dict, int8: dict | None = None
) -> None:
    """metrics.json: every epoch's metrics and the test split's, and when an int8 model was
    asked for, its check against fp32 (``agreement``, ``holdout_images``, ``shipped``)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    document = {"history": history, "test": test_metrics}
    if int8 is not None:
        document["int8"] = int8
    write_json(Path(folder) / METRICS_FILE, document)


def write_model_artifacts(
    model_dir: Path,
    model: torch.nn.Module,
    config: dict,
    class_names: list[str],
    history: list[dict],
    test_metrics: dict,
    int8: dict | None = None,
) -> None:
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    atomic_write(model_dir / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    write_json(model_dir / CONFIG_FILE, config)
    write_json(model_dir / CLASS_NAMES_FILE, class_names)
    write_metrics(model_dir, history, test_metrics, int8)
    plot_curves(history, test_metrics, model_dir / CURVES_FILE)
