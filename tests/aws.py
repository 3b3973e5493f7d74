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


def inline_policy(emulator: Emulator, role_name: str) -> dict:
    """The policy document of a role's one inline policy (every role of the stack has one)."""
    iam = client("iam", emulator)
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert len(names) == 1, f"{role_name} has inline policies {names}"
    return iam.get_role_policy(RoleName=role_name, PolicyName=names[0])["PolicyDocument"]
