"""The monitor's figures (lambda/monitor): a window drawn from the training mix stays within
what sampling gives, a shifted one does not; and no capture line, however malformed, raises."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.drift import MAX_SCORE, drift_score, js_divergence, noise_floor
from monitor.report import BaselineError, check_baseline, measure
from monitor.traffic import Window, observation_of
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
    assert metrics["Requests"] == 400
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
    assert (metrics["Requests"], metrics["UnreadableRecords"]) == (40, 2)
    assert metrics["ErrorShare"] == pytest.approx(0.25)


def test_a_small_window_gives_counts_only():
    report = measure(window_of(drawn(5, TRAINING, 0)), baseline(BREEDS, TRAINING), 20)
    assert set(report["metrics"]) == {"Requests", "UnreadableRecords"}
    assert report["notes"] == ["5 requests in the window, under the 20 needed"]


def test_without_a_baseline_only_what_needs_none_is_measured():
    report = measure(window_of(drawn(40, TRAINING, 0)), None, 20)
    assert set(report["metrics"]) == {
        "Requests",
        "UnreadableRecords",
        "ErrorShare",
        "MeanConfidence",
    }
    assert "no baseline" in report["notes"][0]


def test_answers_of_breeds_the_baseline_lacks_are_noted():
    lines = drawn(30, TRAINING, 0) + [record(photo(), answer("Dingo", 0.9))] * 3
    report = measure(window_of(lines), baseline(BREEDS, TRAINING), 20)
    assert "3 answers name breeds the baseline does not" in report["notes"][0]


def test_the_noise_floor_falls_with_the_window_and_the_score_is_finite():
    # About 1/N: ten times the answers, a tenth of the noise.
    assert 5 < noise_floor(TRAINING, 100) / noise_floor(TRAINING, 1000) < 20
    assert drift_score([1, 0], [1, 0]) == (0.0, 0.0)
    assert drift_score([0, 5], [1, 0]) == (1.0, MAX_SCORE)
    assert js_divergence([1, 0], [0, 1]) == 1.0


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({}, "lacks 'schema'"),
        ({"schema": 2}, "baseline schema 2, not 1"),
        ({**baseline(["a"], [1]), "training": [1, 2]}, "do not match"),
        ({**baseline(["a"], [1]), "test": {}}, "lacks 'low_confidence_below'"),
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
    observation = observation_of(line)
    assert observation is None or observation.breed is None or 0 <= observation.confidence <= 1
    window = window_of([line])
    assert window.records + window.unreadable == 1


def test_a_line_nested_past_pythons_limit_is_unreadable_not_a_crash():
    window = window_of(["[" * 100_000 + "]" * 100_000])
    assert (window.records, window.unreadable) == (0, 1)
