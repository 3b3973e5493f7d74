"""The invoker's serving metrics in CloudWatch's Embedded Metric Format (invoker/metrics.py):
each request's log line is a valid EMF record ("Specification: Embedded metric format": a
root ``_aws`` with a millisecond Timestamp and CloudWatchMetrics directives, each dimension
and metric a root member, at most 30 dimensions and 100 metrics a directive, metric values
numbers), checked on the handler's real log lines."""

from __future__ import annotations

import json
import numbers

import pytest

from invoker.metrics import embedded_metrics, outcome_of
from tests.lambda_invoker.test_handler import PREDICTIONS, logged_good_and_bad_request


def assert_emf(line: dict) -> None:
    metadata = line["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    assert metadata["Timestamp"] > 1.6e12
    for directive in metadata["CloudWatchMetrics"]:
        assert 1 <= len(directive["Namespace"]) <= 255
        assert not directive["Namespace"].startswith("AWS/")
        for dimension_set in directive["Dimensions"]:
            assert len(dimension_set) <= 30
            assert all(isinstance(line[name], str) for name in dimension_set)
        assert len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert isinstance(line[metric["Name"]], numbers.Real), metric


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "success"),
        (202, "accepted"),
        (400, "client_error"),
        (429, "client_error"),
        (502, "server_error"),
        (504, "server_error"),
    ],
)
def test_each_status_is_an_outcome(status, outcome):
    assert outcome_of(status) == outcome


def test_a_record_without_an_answer_has_no_confidence_metric():
    fields = embedded_metrics("dogs/Invoker", "dogs-invoker", 415, 3.5, None, 1_765_000_000_000)
    assert_emf(fields)
    names = [m["Name"] for m in fields["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["Requests", "Latency"]
    assert (fields["Outcome"], fields["Requests"]) == ("client_error", 1)


def test_each_request_logs_one_emf_record_by_function_and_outcome(
    load_handler, context, sample_dataset, capfd, emulator
):
    handler = load_handler(METRIC_NAMESPACE="dog-breeds/Invoker")
    _, lines = logged_good_and_bad_request(handler, context, sample_dataset, capfd, emulator)
    for line in lines:
        assert_emf(line)
    assert [(line["Outcome"], line["FunctionName"]) for line in lines] == [
        ("success", context.function_name),
        ("client_error", context.function_name),
    ]
    assert lines[0]["TopConfidence"] == PREDICTIONS[0]["probability"]
    assert "TopConfidence" not in lines[1]
    assert lines[0]["Latency"] == lines[0]["duration_ms"]


def test_without_a_namespace_the_log_line_carries_no_metrics(load_handler, context, capfd):
    handler = load_handler()
    handler.lambda_handler({"image": "not base64!"}, context)
    (line,) = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    assert "_aws" not in line
