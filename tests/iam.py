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
    """All of a role's inline policies as one document (their statements together)."""
    iam = client("iam", emulator)
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert names, f"{role_name} has no inline policy"
    statements = []
    for name in names:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        found = document["Statement"]
        statements += found if isinstance(found, list) else [found]
    return {"Version": "2012-10-17", "Statement": statements}
