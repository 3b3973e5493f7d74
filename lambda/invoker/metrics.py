"""The function's serving metrics, in CloudWatch's Embedded Metric Format: the one log line
each request writes carries them, and CloudWatch Logs makes them metrics as it ingests the
line ("Specification: Embedded metric format"), with no PutMetricData call to make or allow.

By ``FunctionName`` and ``Outcome`` (success, accepted: a queued asynchronous request,
client_error, server_error), in the configured namespace: ``Requests`` (Count), ``Latency``
(Milliseconds, the handler's own time) and, for an answer with predictions,
``TopConfidence`` (its top-1 probability).
"""

from __future__ import annotations

OUTCOMES = {2: "success", 4: "client_error", 5: "server_error"}


def outcome_of(status: int) -> str:
    if status == 202:
        return "accepted"
    return OUTCOMES.get(status // 100, "server_error")


def embedded_metrics(
    namespace: str,
    function_name: str,
    status: int,
    latency_ms: float,
    top_confidence: float | None,
    timestamp_ms: int,
) -> dict:
    """The fields that make a JSON log line an EMF record of one request."""
    metrics = [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]
    values = {"Requests": 1, "Latency": latency_ms}
    if top_confidence is not None:
        metrics.append({"Name": "TopConfidence", "Unit": "None"})
        values["TopConfidence"] = top_confidence
    directive = {
        "Namespace": namespace,
        "Dimensions": [["FunctionName", "Outcome"]],
        "Metrics": metrics,
    }
    return {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive]},
        "FunctionName": function_name,
        "Outcome": outcome_of(status),
        **values,
    }
