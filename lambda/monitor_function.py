"""Lambda entry point of the model monitor: the last period's captured traffic against the
served model's baseline, published as CloudWatch metrics.

Invoked by its EventBridge Scheduler schedule (an empty event: the last ``WINDOW_MINUTES``,
published), or by ``python -m mlops monitor`` with ``{"since_minutes": N, "publish": false}``
(the same analysis, answered and not published). The answer is the report: the window, the
served model, ``metrics`` and ``notes`` (monitor.report).

Configuration (environment): ``ENDPOINT_NAME``, ``VARIANT_NAME`` (AllTraffic), ``CAPTURE_S3_URI``
(the endpoint's capture destination, ``s3://bucket/prefix/``), ``METRIC_NAMESPACE``,
``WINDOW_MINUTES``, ``MIN_REQUESTS`` and ``CAPTURE_DELAY_MINUTES`` (5: a window ends that
long before the run, as SageMaker writes capture files a few minutes after the requests;
consecutive runs measure consecutive windows). The baseline is the served version's
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

from monitor.report import check_baseline, measure
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
    missing = [name for name in ("ENDPOINT_NAME", "METRIC_NAMESPACE") if not environ.get(name)]
    if missing:
        raise MonitorError(f"{' and '.join(missing)} must be set")
    return {
        "endpoint": environ["ENDPOINT_NAME"],
        "variant": environ.get("VARIANT_NAME", "AllTraffic"),
        "bucket": bucket,
        "prefix": prefix if prefix.endswith("/") or not prefix else prefix + "/",
        "namespace": environ["METRIC_NAMESPACE"],
        "window_minutes": int(environ.get("WINDOW_MINUTES", "60")),
        "min_requests": int(environ.get("MIN_REQUESTS", "20")),
        "capture_delay_minutes": int(environ.get("CAPTURE_DELAY_MINUTES", "5")),
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


def read_window(s3, config: dict, since: datetime, until: datetime) -> Window:
    window = Window(since, until)
    folder = f"{config['prefix']}{config['endpoint']}/{config['variant']}/"
    for prefix in hour_prefixes(folder, since, until):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=config["bucket"], Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if not item["Key"].endswith(CAPTURE_SUFFIX):
                    continue
                body = s3.get_object(Bucket=config["bucket"], Key=item["Key"])["Body"]
                for line in body.iter_lines():
                    if line.strip():
                        window.add_line(line)
    return window


def served_baseline(sagemaker, s3, endpoint: str, variant: str) -> tuple[str, dict | None]:
    """The variant's model (its package ARN or archive URL) and its baseline, if it has one."""
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    named = [v for v in config["ProductionVariants"] if v["VariantName"] == variant]
    if not named:
        raise MonitorError(f"endpoint {endpoint} has no production variant {variant}")
    model_name = named[0]["ModelName"]
    container = sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]
    package = container.get("ModelPackageName")
    if not package:
        return container.get("ModelDataUrl", model_name), None
    version = sagemaker.describe_model_package(ModelPackageName=package)
    source = version.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics")
    if not source:
        return package, None
    bucket, key = source["S3Uri"].removeprefix("s3://").split("/", 1)
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return package, check_baseline(document)
    except (ValueError, RecursionError) as error:  # BaselineError, or not JSON at all
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
                "Unit": "Count" if name in ("CapturedRequests", "UnreadableRecords") else "None",
            }
            for name, value in sorted(metrics.items())
        ],
    )


def handler(event, context) -> dict:
    config = settings(os.environ)
    minutes, publishing = request_of(event, config["window_minutes"])
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    now = datetime.now(UTC)
    until = now - timedelta(minutes=config["capture_delay_minutes"])
    since = until - timedelta(minutes=minutes)
    model, baseline = served_baseline(sagemaker, s3, config["endpoint"], config["variant"])
    report = measure(read_window(s3, config, since, until), baseline, config["min_requests"])
    if publishing:
        publish(boto3.client("cloudwatch"), config, report["metrics"], now)
    answer = {
        "endpoint": config["endpoint"],
        "model": model,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "published": publishing,
        **report,
    }
    logger.info(json.dumps(answer))
    return answer
