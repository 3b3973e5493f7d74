"""The figures of one window against the baseline: what ``monitor_function`` publishes as
CloudWatch metrics and ``python -m mlops monitor`` prints.

``CapturedRequests`` counts the window's capture records (the captured share of the requests:
20 % by default); the shares are of its answers (a batch request has several) or of its photos.
With fewer than ``min_requests`` records only the counts are given: a mean of three answers
would set off alarms by chance. Without a baseline (a model from before baselines were
written) the figures that need one are left out and the report says why.
"""

from __future__ import annotations

import math
import statistics

from monitor.drift import drift_score
from monitor.traffic import RARE_IN_TRAINING, SAME_FORMATS, Window

# The baseline's layout (ml/baseline.py's SCHEMA_VERSION).
BASELINE_SCHEMA = 1


class BaselineError(ValueError):
    """The baseline is not one ml/baseline.py writes; the message says what is wrong."""


def check_baseline(baseline: object) -> dict:
    """``baseline`` if it has the parts the report reads, else a BaselineError naming one."""
    try:
        if baseline["schema"] != BASELINE_SCHEMA:
            raise BaselineError(f"baseline schema {baseline['schema']!r}, not {BASELINE_SCHEMA}")
        classes, training = baseline["classes"], baseline["training"]
        predicted = baseline["test"]["predicted"]
        if not len(classes) == len(training) == len(predicted) or not math.fsum(training) > 0:
            raise BaselineError("the baseline's classes, training and test counts do not match")
        float(baseline["test"]["low_confidence_below"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, BaselineError):
            raise
        raise BaselineError(f"the baseline lacks {error}") from None
    return baseline


def unfamiliar_share(window: Window, images: dict) -> float | None:
    """The share of the window's photos whose format, or the bucket of whose shorter side,
    held under ``RARE_IN_TRAINING`` of the training images (a format it never saw, or one the
    endpoint cannot read, among them); None without photos (requests by s3_uri)."""
    if not window.photos:
        return None
    total = math.fsum(images["short_side"]) or 1.0
    familiar: dict[str, float] = {}
    for name, count in images["formats"].items():
        name = SAME_FORMATS.get(name, name)
        familiar[name] = familiar.get(name, 0.0) + count / total
    edges, sides = images["short_side_edges"], images["short_side"]

    def is_familiar(name: str, side: int | None) -> bool:
        if familiar.get(name, 0.0) < RARE_IN_TRAINING:
            return False
        bucket = None if side is None else sum(side >= edge for edge in edges)
        return bucket is None or sides[bucket] / total >= RARE_IN_TRAINING

    unfamiliar = sum(1 for name, side in window.photos if not is_familiar(name, side))
    return unfamiliar / len(window.photos)


def measure(window: Window, baseline: dict | None, min_requests: int) -> dict:
    """The window's figures: ``metrics`` (name -> value, what is published) and ``notes``
    (why a figure is left out)."""
    metrics = {
        "CapturedRequests": float(window.records),
        "UnreadableRecords": float(window.unreadable),
    }
    notes: list[str] = []
    if window.records < min_requests:
        notes.append(
            f"{window.records} captured requests in the window, under the {min_requests} needed"
        )
        return {"metrics": metrics, "notes": notes}
    metrics["ErrorShare"] = window.errors / window.answers
    if window.confidences:
        metrics["MeanConfidence"] = statistics.fmean(window.confidences)
    if baseline is None:
        notes.append("no baseline for the served model: drift and familiarity are not measured")
        return {"metrics": metrics, "notes": notes}
    if window.confidences:
        below = float(baseline["test"]["low_confidence_below"])
        low = sum(1 for value in window.confidences if value < below)
        metrics["LowConfidenceShare"] = low / len(window.confidences)
    counts = [float(window.breeds.get(name, 0)) for name in baseline["classes"]]
    if unknown := sum(window.breeds.values()) - math.fsum(counts):
        notes.append(f"{unknown:.0f} answers name breeds the baseline does not: another model?")
    if math.fsum(counts) > 0:
        divergence, score = drift_score(counts, baseline["test"]["predicted"], baseline["training"])
        metrics["PredictionDivergence"], metrics["PredictionDriftScore"] = divergence, score
    if (
        baseline.get("images")
        and (share := unfamiliar_share(window, baseline["images"])) is not None
    ):
        metrics["UnfamiliarImageShare"] = share
    return {"metrics": metrics, "notes": notes}
