"""A training job's log and metrics as SageMaker publishes them: each instance's output to its
CloudWatch Logs stream, and the job's metric definitions matched against it line by line into
the job's FinalMetricDataList and CloudWatch metrics."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
LOG_BATCH_LINES = 100
LOG_BATCH_SECONDS = 1.0


@dataclass
class Stream:
    """Where one instance's output goes: its log stream and its metrics' Host dimension
    (``JOB/algo-N``), with boto3 clients of the emulator's logs and cloudwatch."""

    log_stream: str
    host: str
    logs: object
    cloudwatch: object


class LogPump(threading.Thread):
    """One instance's output: to its log stream in batches, its metrics matched line by line
    (each match also handed to ``on_metric``: name, value, time)."""

    def __init__(
        self,
        output: Iterable[bytes],
        stream: Stream,
        definitions: list[dict],
        on_metric: Callable[[str, float, datetime], None],
    ):
        super().__init__(name=f"log-{stream.host}", daemon=True)
        self.output = output
        self.stream = stream
        self.on_metric = on_metric
        self.definitions = [(d["Name"], re.compile(d["Regex"])) for d in definitions]

    def run(self) -> None:
        lines: queue.Queue[bytes | None] = queue.Queue()
        reader = threading.Thread(target=self.read, args=(lines,), daemon=True)
        reader.start()
        events: list[dict] = []
        metrics: list[dict] = []
        while True:
            try:  # a quiet second sends what has come so far
                raw = lines.get(timeout=LOG_BATCH_SECONDS)
            except queue.Empty:
                raw = b""
            if raw is None or raw == b"" or len(events) >= LOG_BATCH_LINES:
                self.flush(events, metrics)
                events, metrics = [], []
            if raw is None:
                return
            if raw:
                self.take(raw.decode("utf-8", errors="replace").rstrip("\n"), events, metrics)

    def read(self, lines: queue.Queue) -> None:
        for raw in self.output:
            lines.put(raw)
        lines.put(None)

    def take(self, line: str, events: list[dict], metrics: list[dict]) -> None:
        stamp = datetime.now(UTC)
        events.append({"timestamp": int(stamp.timestamp() * 1000), "message": line or " "})
        for name, pattern in self.definitions:
            if match := pattern.search(line):
                value = float(match[1] if pattern.groups else match[0])
                self.on_metric(name, value, stamp)
                metrics.append({"MetricName": name, "Value": value, "Timestamp": stamp})

    def flush(self, events: list[dict], metrics: list[dict]) -> None:
        if events:
            self.stream.logs.put_log_events(
                logGroupName=LOG_GROUP, logStreamName=self.stream.log_stream, logEvents=events
            )
        host = [{"Name": "Host", "Value": self.stream.host}]
        for start in range(0, len(metrics), 20):  # PutMetricData takes 20 at a time here
            self.stream.cloudwatch.put_metric_data(
                Namespace=METRICS_NAMESPACE,
                MetricData=[{**m, "Dimensions": host} for m in metrics[start : start + 20]],
            )
