"""Lambda entry point of the model monitor: the last period's captured traffic against the
served model's baseline, published as CloudWatch metrics.

Invoked by its EventBridge Scheduler schedule (an empty event: the last ``WINDOW_MINUTES``,
published), or by ``python -m mlops monitor`` with ``{"since_minutes": N, "publish": false}``
(the same analysis, answered and not published). The answer is the report: the window, the
served model, ``metrics`` and ``notes`` (monitor.report).

Configuration (environment): ``ENDPOINT_NAME``, ``VARIANT_NAME`` (AllTraffic), ``CAPTURE_S3_URI``
(the endpoint's capture destination, ``s3://bucket/prefix/``), ``METRIC_NAMESPACE``,
``WINDOW_MINUTES`` and ``MIN_REQUESTS``. The baseline is the served version's
(DescribeEndpoint, its configuration's production variant, the model's package, the package's
``DriftCheckBaselines.ModelDataQuality.Statistics``): a model deployed from an archive URL has
none, and only the figures that need no baseline are published.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta

import boto3

from monitor.report import BaselineError, check_baseline, measure
from monitor.traffic import Window

logger = logging.getLogger()
logger.setLevel(logging.INFO)

MAX_WINDOW_MINUTES = 30 * 24 * 60  # captures are kept 30 days by default
CAPTURE_SUFFIX = ".jsonl"


class MonitorError(ValueError):
    """A request or a setting the monitor cannot work with; the message names it."""


def settings(environ: dict[str, str]) -> dict:
    capture = environ.get("CAPTURE_S3_URI", "")
    if not capture.startswith("s3://") or "/" not in capture[5:]:
        raise MonitorError(f"CAPTURE_S3_URI must be s3://bucket/prefix/, not {capture!r}")
    bucket, prefix = capture[5:].split("/", 1)
    return {
        "endpoint": environ["ENDPOINT_NAME"],
        "variant": environ.get("VARIANT_NAME", "AllTraffic"),
        "bucket": bucket,
        "prefix": prefix if prefix.endswith("/") or not prefix else prefix + "/",
        "namespace": environ["METRIC_NAMESPACE"],
        "window_minutes": int(environ.get("WINDOW_MINUTES", "60")),
        "min_requests": int(environ.get("MIN_REQUESTS", "20")),
    }


def request_of(event: object, default_minutes: int) -> tuple[int, bool]:
    """(minutes, publish) of an invocation: the schedule's empty event, or the operator's."""
    if not isinstance(event, dict):
        raise MonitorError("the event must be a JSON object")
    minutes = event.get("since_minutes", default_minutes)
    publish = event.get("publish", True)
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise MonitorError(f"since_minutes must be a whole number, not {minutes!r}")
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise MonitorError(f"since_minutes must be 1 to {MAX_WINDOW_MINUTES}, not {minutes}")
    if not isinstance(publish, bool):
        raise MonitorError(f"publish must be true or false, not {publish!r}")
    return minutes, publish


def hour_prefixes(prefix: str, since: datetime, now: datetime):
    hour = since.replace(minute=0, second=0, microsecond=0)
    while hour <= now:
        yield f"{prefix}{hour:%Y/%m/%d/%H}/"
        hour += timedelta(hours=1)


def in_window(record: object, since: datetime, now: datetime) -> bool:
    """Whether the record's inferenceTime lies in [since, now]; a record without a readable
    time is kept (the report counts what it cannot read)."""
    try:
        moment = record["eventMetadata"]["inferenceTime"]
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return True
    return since <= when <= now


def add_line(window: Window, line: bytes, since: datetime, now: datetime) -> None:
    """One capture line into the window, parsed once (a line may carry a whole photo)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # a line nested past Python's limit
        window.unreadable += 1
        return
    if in_window(record, since, now):
        window.add_record(record)


def read_window(s3, config: dict, since: datetime, now: datetime) -> Window:
    window = Window()
    folder = f"{config['prefix']}{config['endpoint']}/{config['variant']}/"
    for prefix in hour_prefixes(folder, since, now):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=config["bucket"], Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if not item["Key"].endswith(CAPTURE_SUFFIX):
                    continue
                body = s3.get_object(Bucket=config["bucket"], Key=item["Key"])["Body"]
                for line in body.iter_lines():
                    if line.strip():
                        add_line(window, line, since, now)
    return window


def served_baseline(sagemaker, s3, endpoint: str) -> tuple[str, dict | None]:
    """The served model (its package ARN or archive URL) and its baseline, if it has one."""
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    container = sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]
    package = container.get("ModelPackageName")
    if not package:
        return container.get("ModelDataUrl", model_name), None
    version = sagemaker.describe_model_package(ModelPackageName=package)
    source = version.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics")
    if not source:
        return package, None
    bucket, key = source["S3Uri"].removeprefix("s3://").split("/", 1)
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    try:
        return package, check_baseline(document)
    except BaselineError as error:
        raise MonitorError(f"{source['S3Uri']}: {error}") from None


def publish(cloudwatch, config: dict, metrics: dict[str, float], now: datetime) -> None:
    dimensions = [{"Name": "EndpointName", "Value": config["endpoint"]}]
    cloudwatch.put_metric_data(
        Namespace=config["namespace"],
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": now,
                "Value": value,
                "Unit": "Count" if name in ("Requests", "UnreadableRecords") else "None",
            }
            for name, value in sorted(metrics.items())
        ],
    )


def handler(event, context) -> dict:
    config = settings(os.environ)
    minutes, publishing = request_of(event, config["window_minutes"])
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    now = datetime.now(UTC)
    since = now - timedelta(minutes=minutes)
    model, baseline = served_baseline(sagemaker, s3, config["endpoint"])
    report = measure(read_window(s3, config, since, now), baseline, config["min_requests"])
    if publishing:
        publish(boto3.client("cloudwatch"), config, report["metrics"], now)
    answer = {
        "endpoint": config["endpoint"],
        "model": model,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "published": publishing,
        **report,
    }
    logger.info(json.dumps(answer))
    return answer
