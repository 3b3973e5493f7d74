"""The AWS clients of the operator command line, and how "no such thing" answers read."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops import JobsError
from mlops.stack import Stack

NOT_FOUND_CODES = {"ValidationException", "ResourceNotFound", "404", "NoSuchKey", "NotFound"}


def resolve_region(flag: str | None, stack: Stack) -> str:
    """--region, else the AWS configuration's, else AWS_REGION, else the stack's output."""
    region = flag or boto3.Session().region_name or os.environ.get("AWS_REGION")
    if region:
        return region
    try:
        return stack.get("region")
    except JobsError:
        raise JobsError(
            "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION"
        ) from None


class Aws:
    """The AWS clients, created on first use: a dry run needs none. Each request's User-Agent
    names the command (``mlops/train``), so CloudTrail shows which one made a call."""

    def __init__(self, region: Callable[[], str], command: str = "api"):
        self._resolve_region = region
        self._config = Config(user_agent_extra=f"mlops/{command}")

    @functools.cached_property
    def region(self) -> str:
        return self._resolve_region()

    @functools.cached_property
    def _session(self) -> boto3.Session:
        return boto3.Session(region_name=self.region)

    @functools.cached_property
    def sagemaker(self):
        return self._session.client("sagemaker", config=self._config)

    @functools.cached_property
    def s3(self):
        return self._session.client("s3", config=self._config)

    @functools.cached_property
    def cloudwatch(self):
        return self._session.client("cloudwatch", config=self._config)

    @functools.cached_property
    def logs(self):
        return self._session.client("logs", config=self._config)

    @functools.cached_property
    def lambda_(self):
        """For synchronous invocations of functions that run minutes (the model monitor:
        up to 900 s): a read timeout past that, and no retry, which would run it again."""
        patient = self._config.merge(Config(read_timeout=960, retries={"total_max_attempts": 1}))
        return self._session.client("lambda", config=patient)


def not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES


def fetch(call, missing: str, **params) -> dict:
    """``call(**params)``, where "no such thing" becomes ``JobsError(missing)``."""
    try:
        return call(**params)
    except ClientError as error:
        if not_found(error):
            raise JobsError(missing) from None
        raise
