"""``monitor``: the model monitor's analysis of the last period's captured traffic, now.

    python -m mlops monitor --since 1h
    python -m mlops monitor --since 2d --report monitor.json

It invokes the stack's monitor function (output ``model_monitor_function_name``) with
``{"since_minutes": N, "publish": false}``: the same code its hourly schedule runs, over the
window asked for, answering its report (the served model, the figures, the notes) instead of
publishing it. The figures are explained in lambda/README.md ("The model monitor").
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime
from pathlib import Path

from botocore.exceptions import ClientError

from mlops import JobsError
from mlops.aws import Aws
from mlops.command import Command
from mlops.shadow import parse_since, show
from mlops.stack import Stack

logger = logging.getLogger("mlops")


def monitor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        default="1h",
        help="the captures of the last 30m, 6h, 2d... (default: 1h; at most 30d)",
    )
    parser.add_argument(
        "--function", help="the monitor function (default: output model_monitor_function_name)"
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the report as JSON")


def invoke(aws: Aws, function: str, minutes: int) -> dict:
    """The function's report, or a JobsError with the error it raised."""
    try:
        answer = aws.lambda_.invoke(
            FunctionName=function,
            Payload=json.dumps({"since_minutes": minutes, "publish": False}).encode(),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TooManyRequestsException":
            raise
        raise JobsError(
            f"{function} is running now (its schedule's run: one at a time); try again in a "
            "few minutes"
        ) from None
    payload = answer["Payload"].read()
    try:
        body = json.loads(payload)
    except ValueError:
        raise JobsError(
            f"{function} answered something that is not JSON: {payload[:200]!r}"
        ) from None
    if answer.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        raise JobsError(f"the monitor {function} failed: {message}")
    if not isinstance(body, dict) or "metrics" not in body:
        raise JobsError(f"{function} answered no report: {str(body)[:200]}")
    return body


def monitor(aws: Aws, stack: Stack, args, now: datetime) -> str:
    minutes = int(parse_since(args.since).total_seconds() // 60)
    function = args.function or stack.get("monitor_function")
    report = invoke(aws, function, minutes)
    for note in report.get("notes", []):
        logger.warning("%s", note)
    return show(report, args.report)


MONITOR = Command(
    "monitor",
    "measure the live model's captured traffic against its training baseline, now",
    monitor,
    monitor_options,
)
