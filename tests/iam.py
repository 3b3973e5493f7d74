"""IAM policy evaluation for the tests: what a policy the stack created allows."""

from __future__ import annotations

import json

from moto.iam.access_control import IAMPolicy, PermissionResult

from local_stack.aws import client
from local_stack.emulator import Emulator


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
