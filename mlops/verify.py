"""``verify``: the endpoint serves what was just applied, or the command fails with the reason.

A blue/green deployment that trips a rollback alarm goes back to the old fleet, and the
endpoint returns to InService on the *old* configuration; ``terraform apply`` (the provider
waits for InService only) and an UpdateEndpoint waiter both report success. This check
compares the endpoint with what Terraform declared: its configuration, the model data that
configuration serves, and the instance count the variants settled on.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mlops import DeploymentError, JobsError
from mlops.aws import Aws, fetch
from mlops.command import Command
from mlops.stack import Stack

logger = logging.getLogger("mlops")

# DescribeEndpoint's EndpointStatus values that change on their own (API reference).
SETTLING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


@dataclass(frozen=True)
class Expected:
    """What the endpoint should serve: Terraform's outputs, or the flags that replace them."""

    endpoint: str
    config: str | None
    model: str | None  # a model.tar.gz URL, or a model package ARN
    rollback_alarms: tuple[str, ...] = ()


def settled(
    aws: Aws,
    endpoint: str,
    timeout_s: float,
    poll_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """DescribeEndpoint once the endpoint is no longer creating, updating or rolling back."""
    deadline = clock() + timeout_s
    while True:
        description = fetch(
            aws.sagemaker.describe_endpoint,
            f"endpoint {endpoint} does not exist",
            EndpointName=endpoint,
        )
        status = description["EndpointStatus"]
        if status not in SETTLING:
            return description
        if clock() + poll_s > deadline:
            raise DeploymentError(
                f"endpoint {endpoint} is still {status} after {timeout_s:.0f} s: run verify "
                "again later (--wait-timeout)"
            )
        logger.info("endpoint %s is %s; checking again in %.0f s", endpoint, status, poll_s)
        sleep(poll_s)


def alarms_in_alarm(aws: Aws, names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    alarms = aws.cloudwatch.describe_alarms(AlarmNames=list(names))["MetricAlarms"]
    return sorted(alarm["AlarmName"] for alarm in alarms if alarm["StateValue"] == "ALARM")


def why(aws: Aws, description: dict, expected: Expected) -> str:
    """SageMaker's failure reason and the rollback alarms now firing, for the error."""
    parts = []
    if reason := description.get("FailureReason"):
        parts.append(f"SageMaker says: {reason}")
    if firing := alarms_in_alarm(aws, expected.rollback_alarms):
        parts.append(f"in ALARM: {', '.join(firing)}")
    return "; ".join(parts) or "no failure reason given"


def served_models(aws: Aws, config_name: str) -> set[str]:
    """The model data (or model package) each variant of ``config_name`` serves."""
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    served = set()
    for variant in config["ProductionVariants"]:
        model = aws.sagemaker.describe_model(ModelName=variant["ModelName"])
        container = model.get("PrimaryContainer") or model["Containers"][0]
        served.add(container.get("ModelDataUrl") or container.get("ModelPackageName", "?"))
    return served


def capacity(description: dict) -> str:
    """``2 instance(s)`` or ``serverless, 3072 MB``, from the settled variants."""
    variants = description["ProductionVariants"]
    serverless = [
        v["CurrentServerlessConfig"] for v in variants if v.get("CurrentServerlessConfig")
    ]
    if serverless:
        return ", ".join(f"serverless, {c['MemorySizeInMB']} MB" for c in serverless)
    current = sum(v.get("CurrentInstanceCount", 0) for v in variants)
    desired = sum(v.get("DesiredInstanceCount", 0) for v in variants)
    return f"{current} instance(s)" + (f" ({desired} desired)" if desired != current else "")


def verify(aws: Aws, expected: Expected, timeout_s: float, poll_s: float, **waiting) -> str:
    """One line saying what the endpoint serves; ``DeploymentError`` when it is not what
    ``expected`` says."""
    name = expected.endpoint
    description = settled(aws, name, timeout_s, poll_s, **waiting)
    status = description["EndpointStatus"]
    if status != "InService":
        raise DeploymentError(f"endpoint {name} is {status}: {why(aws, description, expected)}")
    actual = description["EndpointConfigName"]
    if expected.config and actual != expected.config:
        raise DeploymentError(
            f"endpoint {name} is InService on {actual}, not {expected.config} as applied: the "
            f"deployment was rolled back ({why(aws, description, expected)}). The old model "
            "still serves; fix the model or the alarm and apply again"
        )
    served = served_models(aws, actual)
    if expected.model and served != {expected.model}:
        raise DeploymentError(
            f"endpoint {name} serves {', '.join(sorted(served))}, not {expected.model}"
        )
    summary = f"endpoint {name} is InService on {actual}, serving {', '.join(sorted(served))} "
    return summary + f"on {capacity(description)}"


def desired_instance_count(aws: Aws, endpoint: str) -> int | None:
    """The instances auto scaling wants now (summed over variants), or None for a serverless
    endpoint or none at all: what a new configuration should start with."""
    description = fetch(
        aws.sagemaker.describe_endpoint,
        f"endpoint {endpoint} does not exist",
        EndpointName=endpoint,
    )
    counts = [
        v["DesiredInstanceCount"]
        for v in description["ProductionVariants"]
        if "DesiredInstanceCount" in v
    ]
    return sum(counts) if counts else None


def verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-name", help="(default: output endpoint_name)")
    parser.add_argument(
        "--expect-config",
        metavar="NAME",
        help="the endpoint configuration it should be on (default: output endpoint_config_name)",
    )
    parser.add_argument(
        "--expect-model",
        metavar="S3_URL_OR_PACKAGE_ARN",
        help="the model.tar.gz or model package it should serve (default: output endpoint_model)",
    )
    parser.add_argument(
        "--wait-timeout",
        type=int,
        default=3600,
        help="seconds to wait while the endpoint is still updating (default: 3600)",
    )
    parser.add_argument(
        "--poll-seconds", type=int, default=30, help="seconds between status checks"
    )


def run_verify(aws: Aws, stack: Stack, args, now: datetime) -> str:
    if not 1 <= args.poll_seconds <= args.wait_timeout:
        raise JobsError(
            f"need 1 <= --poll-seconds <= --wait-timeout, got {args.poll_seconds} and "
            f"{args.wait_timeout}"
        )
    expected = Expected(
        endpoint=stack.get("endpoint_name"),
        config=args.expect_config or stack.get("endpoint_config"),
        model=args.expect_model or stack.get("model"),
        rollback_alarms=tuple(stack.optional_list("endpoint_rollback_alarm_names")),
    )
    summary = verify(aws, expected, args.wait_timeout, args.poll_seconds)
    logger.info("%s", summary)
    return summary


def print_desired_instance_count(aws: Aws, stack: Stack) -> str:
    """The count, or an empty line when there is no stack, endpoint or instance fleet yet:
    the first deployment starts at min_capacity."""
    try:
        count = desired_instance_count(aws, stack.get("endpoint_name"))
    except JobsError as nothing:
        logger.info("no instance count to keep: %s", nothing)
        count = None
    text = "" if count is None else str(count)
    sys.stdout.write(text + "\n")
    return text


VERIFY = Command(
    "verify",
    "check that the endpoint serves what was just applied; exit 1 with the reason when the "
    "deployment failed or was rolled back",
    run_verify,
    verify_options,
)
