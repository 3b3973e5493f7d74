"""``shadow``: a candidate answers a copy of the live traffic beside the live model, and is
promoted only when it agrees with it.

    python -m mlops shadow start --model-package ARN --tfvars terraform/terraform.tfvars
    make deploy        # the Shadow variant starts; capture takes every request
    python -m mlops shadow report --since 2h --report shadow.json
    python -m mlops shadow promote --since 2h --tfvars terraform/terraform.tfvars
    make deploy        # the candidate serves (blue/green, with the rollback alarms)

``start`` sets ``endpoint_shadow_model_package_arn`` (an Approved version, not the live one);
``stop`` removes it (capture returns to its own share); ``promote`` makes the candidate the
served ``model_package_arn`` and removes the shadow, only when ``report``'s figures meet the
thresholds, and otherwise says why and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

from ml.files import atomic_write
from mlops import JobsError, shadow_report, specs, tfvars
from mlops.aws import Aws
from mlops.command import Command
from mlops.registry import require_approved
from mlops.stack import Stack

logger = logging.getLogger("mlops")


class NotPromotedError(JobsError):
    """The candidate did not meet a threshold: the served version stays as it is."""

    exit_status = 1


SHADOW_VARIABLE = "endpoint_shadow_model_package_arn"
SERVED_VARIABLE = "model_package_arn"
SINCE = re.compile(r"([1-9][0-9]{0,3})([mhd])")
SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_SINCE = timedelta(days=30)  # captures are kept 30 days by default


def shadow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "report", "promote", "stop"))
    parser.add_argument(
        "--model-package", metavar="PACKAGE_ARN", help="start: the candidate, an Approved version"
    )
    parser.add_argument(
        "--tfvars",
        type=Path,
        metavar="FILE",
        help="start, promote, stop: the .tfvars (HCL) or .tfvars.json file to change",
    )
    parser.add_argument(
        "--since",
        default="1h",
        help="report, promote: the captures of the last 30m, 6h, 2d... (default: 1h)",
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=0.95,
        help="promote: the least share of requests with the same top breed (default: 0.95)",
    )
    parser.add_argument(
        "--max-latency-ratio",
        type=float,
        default=1.2,
        help="promote: the most the candidate's mean ModelLatency may be of the live model's "
        "(default: 1.2)",
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=100,
        help="promote: the least requests both variants answered (default: 100)",
    )
    parser.add_argument(
        "--disagreements", type=int, default=10, help="report: requests listed (default: 10)"
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the report as JSON")


def parse_since(text: str) -> timedelta:
    match = SINCE.fullmatch(text)
    if match is None:
        raise JobsError(f"--since {text!r}: expected minutes, hours or days, e.g. 30m, 6h, 2d")
    window = timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})
    if window > MAX_SINCE:
        raise JobsError(f"--since {text}: at most 30d (captures are kept 30 days by default)")
    return window


def check_thresholds(args) -> None:
    """The report's and promotion's numbers, each within what it can mean."""
    if not (math.isfinite(args.min_agreement) and 0 <= args.min_agreement <= 1):
        raise JobsError(f"--min-agreement {args.min_agreement}: expected a share from 0 to 1")
    if not (math.isfinite(args.max_latency_ratio) and args.max_latency_ratio > 0):
        raise JobsError(f"--max-latency-ratio {args.max_latency_ratio}: expected a positive number")
    if args.min_requests < 1:
        raise JobsError(f"--min-requests {args.min_requests}: expected 1 or more")
    if args.disagreements < 0:
        raise JobsError(f"--disagreements {args.disagreements}: expected 0 or more")


def running_shadow(stack: Stack) -> dict:
    shadow = stack.outputs().get("endpoint_shadow")
    if not isinstance(shadow, dict) or not shadow.get("variant_name"):
        raise JobsError(
            "no shadow variant is running (output endpoint_shadow is null): python -m mlops "
            "shadow start --model-package ARN --tfvars FILE, then make deploy"
        )
    if not str(shadow.get("capture_s3_uri") or "").startswith("s3://"):
        raise JobsError("the endpoint captures nothing: a shadow's answers are only in captures")
    return shadow


def start(aws: Aws, stack: Stack, args) -> str:
    if not args.model_package or not args.tfvars:
        raise JobsError("shadow start needs --model-package ARN and --tfvars FILE")
    mode = stack.outputs().get("endpoint_mode")
    if mode not in (None, "realtime"):
        raise JobsError(
            f"the endpoint is {mode}: shadow variants run on real-time endpoints only "
            "(SageMaker excludes serverless and asynchronous ones)"
        )
    require_approved(aws, stack, args.model_package)
    if stack.optional("model") == args.model_package:
        raise JobsError(f"{args.model_package} is the live model already: shadow another version")
    tfvars.update(args.tfvars, SHADOW_VARIABLE, args.model_package).write()
    logger.info(
        "set %s in %s: make deploy starts the Shadow variant beside the live model (capture "
        "then takes every request); python -m mlops shadow report compares them",
        SHADOW_VARIABLE,
        args.tfvars,
    )
    return args.model_package


def stop(aws: Aws, stack: Stack, args) -> str:
    if not args.tfvars:
        raise JobsError("shadow stop needs --tfvars FILE")
    change = tfvars.unset(args.tfvars, SHADOW_VARIABLE)
    if not change.removed:
        raise JobsError(f"{args.tfvars} sets no {SHADOW_VARIABLE}: no shadow to stop")
    change.write()
    logger.info(
        "removed %s from %s: make deploy stops the Shadow variant, and capture returns to its "
        "own share",
        SHADOW_VARIABLE,
        args.tfvars,
    )
    return "stopped"


def captured_answers(aws: Aws, capture_uri: str, endpoint: str, variant: str, since, now):
    """The variant's answers captured since ``since``, and how many records had none."""
    bucket, prefix = specs.parse_s3_url(capture_uri, "output endpoint_shadow.capture_s3_uri")
    answers, unreadable = [], 0
    pages = aws.s3.get_paginator("list_objects_v2")
    for folder in shadow_report.hour_prefixes(prefix, endpoint, variant, since, now):
        for page in pages.paginate(Bucket=bucket, Prefix=folder):
            for item in page.get("Contents", []):
                if item["LastModified"] < since:
                    continue
                body = aws.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                lines = body.decode("utf-8", errors="replace").splitlines()
                for answer in map(shadow_report.answer_of, filter(str.strip, lines)):
                    if answer is None:
                        unreadable += 1
                    else:
                        answers.append(answer)
    return answers, unreadable


def mean_latency_ms(aws: Aws, endpoint: str, variant: str, since, now) -> float | None:
    """The variant's mean ModelLatency over the window (ms), or None without datapoints.

    The window ends at the next whole minute, so a request answered just before ``now``
    counts: EndTime is exclusive ("GetMetricStatistics", API reference), and the local
    emulator drops its fraction of a second."""
    end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    period = max(60, math.ceil((end - since).total_seconds() / 60) * 60)
    points = aws.cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ],
        StartTime=since,
        EndTime=end,
        Period=period,
        Statistics=["Average", "SampleCount"],
    )["Datapoints"]
    count = sum(point["SampleCount"] for point in points)
    if not count:
        return None
    return sum(point["Average"] * point["SampleCount"] for point in points) / count / 1000


def report(aws: Aws, stack: Stack, args, now: datetime) -> dict:
    check_thresholds(args)
    shadow, endpoint = running_shadow(stack), stack.get("endpoint_name")
    since = now - parse_since(args.since)
    variants = {"live": shadow["production_variant"], "shadow": shadow["variant_name"]}
    found, latency, unreadable = {}, {}, 0
    for role, variant in variants.items():
        found[role], skipped = captured_answers(
            aws, shadow["capture_s3_uri"], endpoint, variant, since, now
        )
        unreadable += skipped
        latency[role] = mean_latency_ms(aws, endpoint, variant, since, now)
    result = {
        "endpoint": endpoint,
        "live_model": stack.optional("model"),
        "candidate": shadow["model_package_arn"],
        "since": since.isoformat(timespec="seconds"),
        **shadow_report.compare(found["live"], found["shadow"], args.disagreements),
        "records_without_an_answer": unreadable,
        "live_latency_ms": _rounded(latency["live"]),
        "shadow_latency_ms": _rounded(latency["shadow"]),
        "latency_ratio": (
            round(latency["shadow"] / latency["live"], 3)
            if latency["live"] and latency["shadow"] is not None
            else None
        ),
    }
    logger.info(
        "shadow of %s since %s: %d requests answered by both, top-1 agreement %s; mean model "
        "latency live %s ms, candidate %s ms",
        endpoint,
        result["since"],
        result["paired"],
        "n/a" if result["agreement"] is None else f"{result['agreement']:.1%}",
        result["live_latency_ms"],
        result["shadow_latency_ms"],
    )
    return result


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def show(result: dict, path: Path | None) -> str:
    text = json.dumps(result, indent=2) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        atomic_write(path, lambda tmp: tmp.write_text(text))
        logger.info("report written to %s", path)
    return text


def promote(aws: Aws, stack: Stack, args, now: datetime) -> str:
    if not args.tfvars:
        raise JobsError("shadow promote needs --tfvars FILE")
    result = report(aws, stack, args, now)
    show(result, args.report)
    reasons = shadow_report.verdict(
        result, args.min_agreement, args.max_latency_ratio, args.min_requests
    )
    if reasons:
        raise NotPromotedError(f"{result['candidate']} is not promoted: " + "; ".join(reasons))
    require_approved(aws, stack, result["candidate"])
    tfvars.update(
        args.tfvars,
        SERVED_VARIABLE,
        result["candidate"],
        remove=(SHADOW_VARIABLE, "model_data_url"),
    ).write()
    logger.info(
        "set %s and removed %s in %s: make deploy serves the candidate (blue/green, with the "
        "rollback alarms), then python -m mlops verify",
        SERVED_VARIABLE,
        SHADOW_VARIABLE,
        args.tfvars,
    )
    return result["candidate"]


def shadow(aws: Aws, stack: Stack, args, now: datetime) -> str:
    if args.action == "start":
        return start(aws, stack, args)
    if args.action == "stop":
        return stop(aws, stack, args)
    if args.action == "promote":
        return promote(aws, stack, args, now)
    return show(report(aws, stack, args, now), args.report)


SHADOW = Command(
    "shadow",
    "run a candidate version beside the live model on a copy of its traffic; report, "
    "promote it if it agrees, stop",
    shadow,
    shadow_options,
    shares=("registry",),
)
