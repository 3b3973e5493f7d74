"""The baseline a live model's traffic is compared with (``baseline.json``, written beside
``metrics.json``): what the model was trained on and how it answers photos it has not seen.

- ``training``: the training split's images per class, in ``classes`` order;
- ``test``: the model's answers on the test split: top-1 predictions per class, the top-1
  confidence as a histogram of ``CONFIDENCE_BINS`` equal bins over [0, 1], its mean, and the
  share of answers under ``low_confidence_below`` (the bin edge under which at most a tenth of the
  test answers lie: "low" is what is rare for this model, whatever its number of classes);
- ``images``: the training images' formats (as Pillow names them) and their shorter sides
  in ``SHORT_SIDE_EDGES`` buckets; null for a run on cached features (no images).

Every figure is a count or a sum, so the processes of a distributed run add theirs up.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch
from PIL import Image

BASELINE_FILE = "baseline.json"
SCHEMA_VERSION = 1
CONFIDENCE_BINS = 20
# Buckets of the shorter side in pixels: under 128, 128-255, ..., 2048 and over.
SHORT_SIDE_EDGES = (128, 256, 512, 1024, 2048)
LOW_CONFIDENCE_QUANTILE = 0.1


class AnswerTally:
    """Top-1 predictions and confidences of a model's answers, added up batch by batch."""

    def __init__(self, num_classes: int):
        self.predicted = torch.zeros(num_classes, dtype=torch.float64)
        self.confidence = torch.zeros(CONFIDENCE_BINS, dtype=torch.float64)
        self.confidence_sum = torch.zeros(1, dtype=torch.float64)

    def add(self, logits: torch.Tensor) -> None:
        top = torch.softmax(logits.detach().float(), dim=1).max(dim=1)
        self.predicted += torch.bincount(top.indices.cpu(), minlength=len(self.predicted))
        bins = (top.values.cpu() * CONFIDENCE_BINS).long().clamp(max=CONFIDENCE_BINS - 1)
        self.confidence += torch.bincount(bins, minlength=CONFIDENCE_BINS)
        self.confidence_sum += top.values.double().sum().cpu()

    def as_list(self) -> list[float]:
        """Every count, for one all-reduce across processes (``from_list`` reads it back)."""
        return [*self.predicted.tolist(), *self.confidence.tolist(), *self.confidence_sum.tolist()]

    def from_list(self, values: list[float]) -> AnswerTally:
        classes = len(self.predicted)
        self.predicted = torch.tensor(values[:classes], dtype=torch.float64)
        self.confidence = torch.tensor(
            values[classes : classes + CONFIDENCE_BINS], dtype=torch.float64
        )
        self.confidence_sum = torch.tensor(values[-1:], dtype=torch.float64)
        return self

    def summary(self) -> dict:
        histogram = [round(count) for count in self.confidence.tolist()]
        count = sum(histogram)
        if not count:
            raise ValueError("no answers to summarise: the test split is empty")
        below, share = low_confidence(histogram)
        return {
            "count": count,
            "predicted": [round(value) for value in self.predicted.tolist()],
            "confidence_histogram": histogram,
            "mean_confidence": self.confidence_sum.item() / count,
            "low_confidence_below": below,
            "low_confidence_share": share,
        }


def low_confidence(histogram: list[int]) -> tuple[float, float]:
    """The bin edge under which about ``LOW_CONFIDENCE_QUANTILE`` of the answers lie (at least
    the first bin's), and the share actually under it."""
    total, under = sum(histogram), 0
    for index, count in enumerate(histogram):
        if index and (under + count) / total > LOW_CONFIDENCE_QUANTILE:
            return index / CONFIDENCE_BINS, under / total
        under += count
    return 1.0, 1.0


def short_side_bucket(width: int, height: int) -> int:
    side = min(width, height)
    return sum(side >= edge for edge in SHORT_SIDE_EDGES)


def image_mix(paths: Iterable[Path]) -> dict:
    """Formats and shorter-side buckets of ``paths``, from their headers alone."""
    formats: Counter[str] = Counter()
    sizes = [0] * (len(SHORT_SIDE_EDGES) + 1)
    for path in paths:
        with Image.open(path) as image:
            formats[image.format or "unknown"] += 1
            sizes[short_side_bucket(*image.size)] += 1
    return {
        "formats": dict(sorted(formats.items())),
        "short_side_edges": list(SHORT_SIDE_EDGES),
        "short_side": sizes,
    }


def class_counts(labels: Iterable[int], num_classes: int) -> list[int]:
    counts = [0] * num_classes
    for label in labels:
        counts[label] += 1
    return counts


def labels_of(dataset) -> list[int]:
    """The labels of an image split (its samples) or of cached features (a TensorDataset)."""
    if hasattr(dataset, "samples"):
        return [sample.label for sample in dataset.samples]
    return [int(label) for label in dataset.tensors[1].tolist()]


def baseline_document(
    class_names: list[str], training_labels: list[int], test: AnswerTally, images: dict | None
) -> dict:
    training = class_counts(training_labels, len(class_names))
    if not math.fsum(training):
        raise ValueError("no training images to take a baseline from")
    return {
        "schema": SCHEMA_VERSION,
        "classes": class_names,
        "training": training,
        "test": test.summary(),
        "images": images,
    }
