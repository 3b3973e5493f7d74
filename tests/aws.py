"""boto3 clients that talk to the emulator, and IAM policy evaluation for the tests."""

from __future__ import annotations

import json

import boto3
from botocore.config import Config
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.emulator import TEST_CREDENTIALS, Emulator

# Fail fast against a local server instead of retrying for minutes.
_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)


def client(service: str, emulator: Emulator, **kwargs):
    """A boto3 client for ``service`` bound to the emulator's endpoint and test credentials."""
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name=emulator.region,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=kwargs.pop("config", _CLIENT_CONFIG),
        **kwargs,
    )


def policy_allows(document: dict, action: str, resource: str) -> bool:
    """Whether an identity policy allows ``action`` on ``resource``, evaluated by moto's IAM
    engine (Allow/Deny, action and resource wildcards); moto enforces resource ARNs itself only
    for a few services, so scoping is checked with this instead."""
    result = IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)
    return result == PermissionResult.PERMITTED
