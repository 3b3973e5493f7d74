"""What a shadow run's captures say: both variants' answers to the same requests, paired by
inference id, compared.

Data capture writes each variant's records under ``<capture prefix><endpoint>/<variant>/
yyyy/mm/dd/hh/`` (developer guide, "Capture data from real-time endpoint"); a record's
``eventMetadata.inferenceId`` is the caller's InferenceId (the invoker sends its request id),
the same in the production and the shadow record of one request ("Create a shadow test"
pairs them so). Each answer is the endpoint's JSON, ``{"predictions": [{"breed",
"probability"}, ...]}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Answer:
    """One variant's top breed for one request."""

    inference_id: str
    breed: str
    probability: float


def hour_prefixes(prefix: str, endpoint: str, variant: str, since: datetime, now: datetime):
    """The capture folders of each hour from ``since`` to ``now`` (UTC)."""
    hour = since.replace(minute=0, second=0, microsecond=0)
    while hour <= now:
        yield f"{prefix}{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/"
        hour += timedelta(hours=1)


def answer_of(line: str) -> Answer | None:
    """The record's inference id and top breed; None for a record that has neither (a request
    sent without an InferenceId, an answer that is not the model's JSON)."""
    try:
        record = json.loads(line)
        inference_id = record["eventMetadata"].get("inferenceId")
        output = record["captureData"]["endpointOutput"]
        data = output["data"]
        if output.get("encoding") == "BASE64":
            data = base64.b64decode(data, validate=True).decode("utf-8")
        best = json.loads(data)["predictions"][0]
        breed, probability = str(best["breed"]), float(best["probability"])
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, binascii.Error):
        return None
    if not isinstance(inference_id, str) or not inference_id:
        return None
    return Answer(inference_id, breed, probability)


def spread(values: list[float]) -> dict[str, float] | None:
    """Mean and deciles of the top-1 confidences, or None without any."""
    if not values:
        return None
    ordered = sorted(values)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return {
        "mean": round(statistics.fmean(ordered), 4),
        "p10": round(pick(0.1), 4),
        "p50": round(pick(0.5), 4),
        "p90": round(pick(0.9), 4),
    }


def compare(live: list[Answer], shadow: list[Answer], most: int) -> dict:
    """Top-1 agreement on the requests both answered, each variant's confidence, and the
    ``most`` requests they disagree on most (both confident, different breeds first)."""
    # One record per request and variant: a retried call may have been captured twice.
    live_by_id = {answer.inference_id: answer for answer in live}
    shadow_by_id = {answer.inference_id: answer for answer in shadow}
    pairs = [(one, shadow_by_id[key]) for key, one in live_by_id.items() if key in shadow_by_id]
    agreeing = sum(1 for one, other in pairs if one.breed == other.breed)
    disagreements = sorted(
        (pair for pair in pairs if pair[0].breed != pair[1].breed),
        key=lambda pair: min(pair[0].probability, pair[1].probability),
        reverse=True,
    )
    return {
        "live_answers": len(live),
        "shadow_answers": len(shadow),
        "paired": len(pairs),
        "agreement": round(agreeing / len(pairs), 4) if pairs else None,
        "live_confidence": spread([one.probability for one, _ in pairs]),
        "shadow_confidence": spread([other.probability for _, other in pairs]),
        "disagreements": [
            {
                "inference_id": one.inference_id,
                "live": {"breed": one.breed, "probability": round(one.probability, 4)},
                "shadow": {"breed": other.breed, "probability": round(other.probability, 4)},
            }
            for one, other in disagreements[:most]
        ],
    }


def verdict(report: dict, min_agreement: float, max_latency_ratio: float, min_pairs: int):
    """Why the candidate may not be promoted (empty: it may)."""
    reasons = []
    if report["paired"] < min_pairs or report["agreement"] is None:
        reasons.append(
            f"only {report['paired']} requests were answered by both variants; at least "
            f"{min_pairs} are needed (--min-requests)"
        )
    elif report["agreement"] < min_agreement:
        reasons.append(
            f"the candidate agrees with the live model on {report['agreement']:.1%} of "
            f"{report['paired']} requests, under --min-agreement {min_agreement:.1%}"
        )
    ratio = report.get("latency_ratio")
    if ratio is None:
        reasons.append("no ModelLatency was published for both variants in the window")
    elif ratio > max_latency_ratio:
        reasons.append(
            f"the candidate's mean model latency is {ratio:.2f}x the live model's, over "
            f"--max-latency-ratio {max_latency_ratio:g}"
        )
    return reasons
