"""Rows of the status table, from DescribeTrainingJob answers the emulator never gives (jobs
still running, jobs that failed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlops.status import format_table, training_row

pytestmark = pytest.mark.unit

JOB = {
    "TrainingJobName": "dog-breeds-train-261124-090507",
    "TrainingJobStatus": "InProgress",
    "SecondaryStatus": "Training",
    "CreationTime": datetime(2026, 11, 24, 9, 5, 7, tzinfo=UTC),
    "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
    "EnableManagedSpotTraining": True,
    "FinalMetricDataList": [{"MetricName": "valid_loss", "Value": 0.41234}],
}


def test_a_running_job_shows_its_phase_and_latest_metrics():
    assert training_row(JOB) == [
        "training",
        "dog-breeds-train-261124-090507",
        "InProgress (Training)",
        "2026-11-24 09:05",
        "2 x ml.g5.xlarge spot; valid_loss=0.4123",
    ]


def test_a_failed_job_shows_why():
    failed = {
        **JOB,
        "TrainingJobStatus": "Failed",
        "FailureReason": "AlgorithmError: dataset error: no images in /opt/ml/input/data/train",
        "FinalMetricDataList": [],
    }
    row = training_row(failed)
    assert row[2] == "Failed"
    assert row[4].endswith(
        "spot; -; AlgorithmError: dataset error: no images in /opt/ml/input/data/train"
    )


def test_columns_line_up():
    table = format_table(["A", "LONG HEADER"], [["wide cell", "x"], ["y", ""]])
    assert table.splitlines() == [
        "A          LONG HEADER",
        "---------  -----------",
        "wide cell  x",
        "y",
    ]
