"""baseline.json: what training leaves for the monitoring of the live model (ml/baseline.py),
written by a real training run, and its arithmetic on chosen and generated answers."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from ml.baseline import (
    BASELINE_FILE,
    CONFIDENCE_BINS,
    SHORT_SIDE_EDGES,
    AnswerTally,
    image_mix,
    low_confidence,
)
from tests.training import SAMPLE_CLASSES


@pytest.mark.integration
@pytest.mark.slow
def test_training_writes_the_baseline_beside_its_metrics(trained_model, sample_dataset):
    baseline = json.loads((trained_model.model_dir / BASELINE_FILE).read_text())
    assert baseline["classes"] == ["Affenpinscher", "Afghan hound", "Airedale terrier", "Akita"]
    assert baseline["training"] == [24] * SAMPLE_CLASSES  # the sample data's 24 per class
    test = baseline["test"]
    assert test["count"] == 6 * SAMPLE_CLASSES
    assert sum(test["predicted"]) == sum(test["confidence_histogram"]) == test["count"]
    assert 1 / SAMPLE_CLASSES <= test["mean_confidence"] <= 1
    # A model that learned the breeds (test_train) answers each about as often as it occurs.
    assert max(test["predicted"]) <= 2 * 6
    images = baseline["images"]
    assert images["formats"] == {"JPEG": 24 * SAMPLE_CLASSES}
    assert images["short_side"] == [24 * SAMPLE_CLASSES, 0, 0, 0, 0, 0]  # 48 px photos


def test_a_tally_adds_up_top_1_answers_and_their_confidence():
    tally = AnswerTally(3)
    logits = torch.tensor([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    tally.add(logits)
    summary = tally.summary()
    assert summary["predicted"] == [2, 1, 0]  # a three-way tie is answered as the first
    assert summary["count"] == 3
    assert summary["confidence_histogram"][CONFIDENCE_BINS - 1] == 2
    assert summary["confidence_histogram"][int(CONFIDENCE_BINS / 3)] == 1
    assert summary["mean_confidence"] == pytest.approx((2 * 0.99991 + 1 / 3) / 3, abs=1e-4)
    assert tally.from_list(tally.as_list()).summary() == summary


def test_an_empty_test_split_has_no_baseline():
    with pytest.raises(ValueError, match="test split is empty"):
        AnswerTally(2).summary()


@given(
    st.lists(
        st.integers(min_value=0, max_value=50), min_size=CONFIDENCE_BINS, max_size=CONFIDENCE_BINS
    ).filter(any)
)
def test_low_confidence_is_a_bin_edge_under_which_about_a_tenth_lies(histogram):
    below, share = low_confidence(histogram)
    total = sum(histogram)
    under = sum(histogram[: round(below * CONFIDENCE_BINS)])
    assert share == pytest.approx(under / total)
    assert 1 / CONFIDENCE_BINS <= below <= 1
    # Either a tenth or less lies under it, or the first bin alone holds more.
    assert share <= 0.1 or below == 1 / CONFIDENCE_BINS


def test_image_mix_reads_formats_and_shorter_sides_from_headers(tmp_path):
    sizes = [(100, 300), (300, 200), (4000, 3000), (2048, 2048)]
    for index, (size, kind) in enumerate(zip(sizes, ["JPEG", "PNG", "JPEG", "WEBP"], strict=True)):
        Image.new("RGB", size).save(tmp_path / f"{index}.img", format=kind)
    mix = image_mix(sorted(tmp_path.iterdir()))
    assert mix["formats"] == {"JPEG": 2, "PNG": 1, "WEBP": 1}
    assert mix["short_side_edges"] == list(SHORT_SIDE_EDGES)
    assert mix["short_side"] == [1, 1, 0, 0, 0, 2]  # 100, 200, then 3000 and 2048: "2048 and over"
