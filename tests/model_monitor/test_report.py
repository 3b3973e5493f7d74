"""The monitor's figures (lambda/monitor): a window drawn from the training mix stays within
what sampling gives, a shifted one does not; and no capture line, however malformed, raises."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.drift import MAX_SCORE, drift_score, js_divergence
from monitor.report import BaselineError, check_baseline, measure
from monitor.traffic import Window
from tests.model_monitor.records import answer, baseline, photo, record

BREEDS = [f"breed {number}" for number in range(133)]
TRAINING = [30 + (number * 7) % 50 for number in range(133)]  # an uneven mix, as dogImages'


def window_of(lines: list[str]) -> Window:
    window = Window()
    for line in lines:
        window.add_line(line)
    return window


def drawn(count: int, weights: list[int], seed: int, confidence: float = 0.9) -> list[str]:
    generator = random.Random(seed)
    image = photo()
    return [
        record(image, answer(breed, confidence))
        for breed in generator.choices(BREEDS, weights=weights, k=count)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_traffic_like_the_training_mix_stays_within_the_noise(seed):
    report = measure(window_of(drawn(400, TRAINING, seed)), baseline(BREEDS, TRAINING), 20)
    metrics = report["metrics"]
    assert metrics["CapturedRequests"] == 400
    assert metrics["PredictionDriftScore"] < 1.5, metrics
    assert metrics["LowConfidenceShare"] == 0
    assert metrics["UnfamiliarImageShare"] == 0
    assert metrics["ErrorShare"] == 0
    assert report["notes"] == []


def test_another_class_mix_drifts_far_past_the_noise():
    shifted = [weight if number < 10 else 0 for number, weight in enumerate(TRAINING)]
    metrics = measure(window_of(drawn(400, shifted, 1)), baseline(BREEDS, TRAINING), 20)["metrics"]
    assert metrics["PredictionDriftScore"] > 3, metrics
    assert metrics["PredictionDivergence"] > 0.3


def test_dark_tiny_photos_the_model_doubts_show_in_confidence_and_familiarity():
    tiny = photo((40, 30), kind="PNG", shade=4)
    lines = [
        record(tiny, answer(BREEDS[n % 133], 0.2), content_type="image/png") for n in range(50)
    ]
    metrics = measure(window_of(lines), baseline(BREEDS, TRAINING), 20)["metrics"]
    assert metrics["LowConfidenceShare"] == 1
    assert metrics["MeanConfidence"] == pytest.approx(0.2)
    assert metrics["UnfamiliarImageShare"] == 1  # PNG and under 128 px: rare in training


def test_errors_and_unreadable_lines_are_counted_not_measured():
    lines = [record(photo(), answer("breed 1", 0.9))] * 30
    lines += [record(photo(), b'{"error": "unsupported_media_type"}')] * 10
    lines += ["not json", '{"captureData": 3}']
    window = window_of(lines)
    metrics = measure(window, baseline(BREEDS, TRAINING), 20)["metrics"]
    assert (metrics["CapturedRequests"], metrics["UnreadableRecords"]) == (40, 2)
    assert metrics["ErrorShare"] == pytest.approx(0.25)


def test_a_small_window_gives_counts_only():
    report = measure(window_of(drawn(5, TRAINING, 0)), baseline(BREEDS, TRAINING), 20)
    assert set(report["metrics"]) == {"CapturedRequests", "UnreadableRecords"}
    assert report["notes"] == ["5 captured requests in the window, under the 20 needed"]


def test_without_a_baseline_only_what_needs_none_is_measured():
    report = measure(window_of(drawn(40, TRAINING, 0)), None, 20)
    assert set(report["metrics"]) == {
        "CapturedRequests",
        "UnreadableRecords",
        "ErrorShare",
        "MeanConfidence",
    }
    assert "no baseline" in report["notes"][0]


def test_answers_of_breeds_the_baseline_lacks_are_noted():
    lines = drawn(30, TRAINING, 0) + [record(photo(), answer("Dingo", 0.9))] * 3
    report = measure(window_of(lines), baseline(BREEDS, TRAINING), 20)
    assert "3 answers name breeds the baseline does not" in report["notes"][0]


def test_a_model_with_habits_is_not_drifting_however_large_the_window():
    """The reference is the model's own test answers: a model that over-answers some breeds
    (a third of its answers to ten of them) shows it live too, and that is no drift, at 400
    answers or 20,000."""
    habits = [count * (8 if number < 10 else 1) for number, count in enumerate(TRAINING)]
    test_answers = [round(count / 4) for count in habits]
    reference = baseline(BREEDS, TRAINING, predicted=test_answers)
    for size in (400, 20_000):
        metrics = measure(window_of(drawn(size, habits, size)), reference, 20)["metrics"]
        assert metrics["PredictionDriftScore"] < 1.5, (size, metrics)
    # Against the training mix instead, the same traffic would look shifted.
    assert js_divergence(habits, TRAINING) > 0.05


def test_the_score_is_finite_and_zero_for_the_same_mix():
    assert drift_score([1, 0], [1, 0], [1, 0]) == (0.0, 0.0)
    assert drift_score([0, 5], [1, 0], [1, 0])[1] == MAX_SCORE
    assert js_divergence([1, 0], [0, 1]) == 1.0


def test_what_the_invoker_sends_is_read_for_its_photo():
    """The invoker sends JSON with the photo as base64 (invoker/endpoint.py); a batch
    request carries several, a request by s3_uri none."""
    one = json.dumps({"image": base64.b64encode(photo((48, 48))).decode(), "top_k": 5})
    batch = json.dumps({"images": [base64.b64encode(photo((48, 48), kind="PNG")).decode()] * 2})
    results = {"results": [answer("breed 1", 0.9), answer("breed 2", 0.8)]}
    by_reference = json.dumps({"s3_uri": "s3://bucket/in/dog.jpg"})
    window = window_of(
        [
            record(one.encode(), answer("breed 1", 0.9), content_type="application/json"),
            record(batch.encode(), results, content_type="application/json"),
            record(by_reference.encode(), answer("breed 3", 0.7), content_type="application/json"),
        ]
    )
    assert (window.records, window.answers, window.errors) == (3, 4, 0)
    assert window.photos == [("JPEG", 48), ("PNG", 48), ("PNG", 48)]
    assert window.breeds == {"breed 1": 2, "breed 2": 1, "breed 3": 1}


def test_records_outside_the_window_are_left_out_and_a_time_without_offset_is_utc():
    now = datetime.now(UTC)
    window = Window(since=now - timedelta(hours=1), until=now)
    inside = record(photo(), answer("breed 1", 0.9), when=now - timedelta(minutes=5))
    early = record(photo(), answer("breed 1", 0.9), when=now - timedelta(hours=2))
    naive = json.loads(inside)
    naive["eventMetadata"]["inferenceTime"] = (now - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    for line in (inside, early, json.dumps(naive)):
        window.add_line(line)
    assert window.records == 2


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, "lacks 'schema'"),
        ({"schema": 2}, "baseline schema 2, not 1"),
        ({**baseline(["a"], [10]), "training": [1, 2]}, "do not match"),
        ({**baseline(["a"], [10]), "test": {"predicted": [1]}}, "lacks 'low_confidence_below'"),
    ],
)
def test_a_baseline_the_monitor_cannot_read_is_refused_by_name(document, problem):
    with pytest.raises(BaselineError, match=problem):
        check_baseline(document)


capture_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        capture_like.map(lambda value: json.dumps(value)),
        st.fixed_dictionaries(
            {
                "captureData": st.fixed_dictionaries(
                    {"endpointInput": capture_like, "endpointOutput": capture_like}
                )
            }
        ).map(lambda value: json.dumps(value)),
    )
)
def test_no_capture_line_raises(line):
    window = window_of([line])
    assert window.records + window.unreadable == 1
    assert all(0 <= value <= 1 for value in window.confidences)


def test_a_line_nested_past_pythons_limit_is_unreadable_not_a_crash():
    window = window_of(["[" * 100_000 + "]" * 100_000])
    assert (window.records, window.unreadable) == (0, 1)
