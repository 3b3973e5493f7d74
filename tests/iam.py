"""IAM policy evaluation for the tests: what a policy the stack created allows."""

from __future__ import annotations

import fnmatch
import json

from moto.iam.access_control import IAMPolicy, PermissionResult

from local_stack.emulator import Emulator, client

# Condition operators the stack's policies use, as IAM evaluates them against one value of
# the request context (IAM User Guide, "IAM JSON policy elements: Condition operators").
OPERATORS = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringEqualsIfExists": lambda value, wanted: value == wanted,
    "StringLike": lambda value, wanted: fnmatch.fnmatchcase(value, wanted),
    "ArnLike": lambda value, wanted: fnmatch.fnmatchcase(value, wanted),
    "ArnEquals": lambda value, wanted: value == wanted,
    "Bool": lambda value, wanted: value.lower() == wanted.lower(),
}


def conditions_hold(statement: dict, context: dict[str, str]) -> bool:
    """Every condition of the statement matches the context; a key the context lacks makes
    its condition false, as IAM does for these operators, except ...IfExists ones."""
    for operator, tests in statement.get("Condition", {}).items():
        if operator not in OPERATORS:
            raise ValueError(f"no evaluator for condition operator {operator}")
        for key, wanted in tests.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            present = {k.lower(): v for k, v in context.items()}.get(key.lower())
            if present is None and operator.endswith("IfExists"):
                continue
            if present is None or not any(OPERATORS[operator](present, w) for w in values):
                return False
    return True


def policy_allows(
    document: dict, action: str, resource: str, context: dict[str, str] | None = None
) -> bool:
    """Whether an identity policy allows ``action`` on ``resource``, evaluated by moto's IAM
    engine (Allow/Deny, action and resource wildcards); moto enforces resource ARNs itself only
    for a few services, so scoping is checked with this instead. moto's engine ignores
    conditions: with a request ``context`` (condition key -> value), statements whose
    conditions do not hold are left out first; without one, conditions are not evaluated."""
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    if context is not None:
        statements = [s for s in statements if conditions_hold(s, context)]
    if not statements:
        return False
    evaluated = {**document, "Statement": statements}
    result = IAMPolicy(json.dumps(evaluated)).is_action_permitted(action, resource)
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
