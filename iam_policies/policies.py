"""Least-privilege policies for the people and pipelines that deploy and operate the stack,
derived from the AWS calls they were seen to make, not guessed.

The test session records every request the emulator answers (``local_stack.emulator.recorder``)
while the whole stack is applied, re-planned and destroyed, and while each operator command
runs against it; ``iam_policies.calls`` names each as an IAM action on a resource ARN.
Here those calls become:

- ``recorded_calls.json``: each call with this stack's names, account, region and state
  location as placeholders, and the run-specific part of a name or ID as ``*``;
- one policy template per role (``templates/*.json.tftpl``) that
  ``terraform/modules/access_policies`` renders: the deployer (all Terraform's calls), the
  planner (the Read and List calls of the deployer and of ``mlops status``: a plan changes
  nothing) and the operator (the
  ``mlops`` commands' calls, and reading the state that ``terraform output`` needs).

    python -m iam_policies      # templates from the committed recording

``make iam-policies`` records anew and then runs this.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from iam_policies.calls import ACCOUNT_ID, PARTITION, IamCall, definitions, kind_of, privilege

logger = logging.getLogger(__name__)

MODULE = Path(__file__).resolve().parents[1] / "terraform" / "modules" / "access_policies"
RECORDING = MODULE / "recorded_calls.json"
TEMPLATES = MODULE / "templates"
README = MODULE / "README.md"
PROJECT_README = MODULE.parent.parent.parent / "README.md"
ROLES = ("deployer", "planner", "operator")
# The tag every resource of the stack carries (the root module's provider default_tags).
STACK_TAG = "Project"

# Calls the emulator run cannot make, because a variable switches the feature off there
# (terraform/emulator.tfvars) or moto lacks it, with why AWS needs them.
NOT_RECORDED = {
    "deployer": [
        (
            "ssm:GetParameter",
            # AWS owns public parameters: their ARNs have no account (hence the *).
            "arn:${partition}:ssm:${region}:*:parameter/aws/service/deeplearning/*",
            "the Deep Learning AMI's public parameter (the emulator run passes ami_id)",
        ),
        *(
            (
                f"lambda:{action}",
                "arn:${partition}:lambda:${region}:${account_id}:function:${name}*",
                "provisioned concurrency (switched off for the emulator: moto lacks it)",
            )
            for action in (
                "PutProvisionedConcurrencyConfig",
                "GetProvisionedConcurrencyConfig",
                "DeleteProvisionedConcurrencyConfig",
            )
        ),
        (
            "scheduler:UpdateSchedule",
            "arn:${partition}:scheduler:${region}:${account_id}:schedule/default/${name}*",
            "a change of the model monitor's schedule or window (the recorded run creates it once)",
        ),
        (
            "iam:CreateServiceLinkedRole",
            "arn:${partition}:iam::${account_id}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpointVariant",
            "the first RegisterScalableTarget of an account creates Application Auto Scaling's "
            "service-linked role (Application Auto Scaling User Guide, service-linked roles)",
        ),
    ],
}


@dataclass(frozen=True)
class Names:
    """What one recorded run called things, to be replaced by the placeholders."""

    name: str
    data_bucket: str
    state_bucket: str
    state_key: str
    region: str
    account_id: str = ACCOUNT_ID


# Log groups SageMaker creates for each kind of job (/aws/sagemaker/TrainingJobs,
# /aws/sagemaker/TransformJobs), shared by every stack of the account: named exactly, and never
# tagged by the stack, so no tag condition can scope them. Named with a trailing "*": IAM
# matches some Logs actions against the group's ARN and others against ``ARN:*``.
SAGEMAKER_LOG_GROUP = re.compile(r"log-group:/aws/sagemaker/[A-Za-z]+Jobs$")


def generalize(arn: str, names: Names) -> str:
    """An ARN as the policy names it: placeholders for this stack's names, account, region
    and state, and ``*`` for what differs between runs (after the stack's name: a job's
    timestamp, a configuration's hash; in place of an ID AWS assigns; an object's key). IAM
    names and buckets stay exact: a prefix would reach the CI roles (NAME-ci-deployer) and a
    state bucket named NAME-tfstate."""
    if arn == "*":
        return arn
    _, partition, service, region, account, resource = arn.split(":", 5)
    head = ":".join(
        [
            "arn",
            "${partition}" if partition == PARTITION else partition,
            service,
            "${region}" if region == names.region else region,
            "${account_id}" if account == names.account_id else account,
        ]
    )
    if service == "s3" and resource.split("/", 1)[0] == names.state_bucket:
        key = resource.partition("/")[2]
        if not key:
            return f"{head}:${{state_bucket}}"
        return f"{head}:${{state_bucket}}/" + re.sub(
            f"^{re.escape(names.state_key)}", "${state_key}", key
        )
    if service == "s3" and resource.split("/", 1)[0] == names.data_bucket:
        return f"{head}:${{data_bucket}}" + ("/*" if "/" in resource else "")
    resource = resource.replace(names.account_id, "${account_id}")
    if service == "iam":  # exact names: no stack's role is another's prefix (NAME-ci-deployer)
        return f"{head}:{resource.replace(names.name, '${name}')}"
    if service == "s3":  # another exact bucket
        bucket, _, key = resource.partition("/")
        return f"{head}:{bucket}" + ("/*" if key else "")
    if service == "logs" and SAGEMAKER_LOG_GROUP.fullmatch(resource):
        return f"{head}:{resource}*"
    if names.name in resource:
        return f"{head}:{resource[: resource.index(names.name)]}${{name}}*"
    if service == "apigateway":  # /apis, or /apis/ID/... and /tags/ARN: the ID as *
        return f"{head}:" + re.sub(r"^(/[^/]+)/.+$", r"\1/*", resource)
    if account in (names.account_id, "") and (found := re.match(r"^[\w-]+[/:]", resource)):
        return f"{head}:{found[0]}*"
    return f"{head}:{resource}"


# Calls the emulator run makes and AWS never would: a re-apply correcting what moto does not
# report (tests/terraform/test_apply.py, KNOWN_EMULATOR_DRIFT), with the drift they correct.
EMULATOR_ONLY = {
    (
        "ec2:ModifyNetworkInterfaceAttribute",
        "arn:${partition}:ec2:${region}:${account_id}:network-interface/*",
    ): "the training instance's security groups, which moto does not report for an instance "
    "launched without a subnet",
}


def recording(calls: Iterable[IamCall], names: Names, deployer_app: str, operator_app: str):
    """The calls of one run, generalized: Terraform's as the deployer's; the operator
    commands', by command, with the state reads of the ``terraform output`` they run."""
    deployer: set[tuple[str, str]] = set()
    operator: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for call in calls:
        entry = (call.action, generalize(call.resource, names))
        if call.app == deployer_app and call.caller == "terraform":
            if entry not in EMULATOR_ONLY:
                deployer.add(entry)
        elif call.app == operator_app and call.caller.startswith("mlops/"):
            operator[call.caller.removeprefix("mlops/")].add(entry)
        elif call.app == operator_app and call.caller == "terraform":
            operator["terraform output"].add(entry)
    return {
        "deployer": _union(deployer),
        "operator": {command: _union(found) for command, found in sorted(operator.items())},
    }


def _union(*entries: list) -> list[list[str]]:
    return sorted(map(list, {tuple(e) for found in entries for e in found}))


def merged(committed: dict, recorded: dict) -> dict:
    """Both recordings' calls: runs differ in calls that depend on timing or on what a test
    left behind (a bucket emptied object by object, or in one batch)."""
    commands = sorted(set(committed["operator"]) | set(recorded["operator"]))
    return {
        "deployer": _union(committed["deployer"], recorded["deployer"]),
        "operator": {
            command: _union(
                committed["operator"].get(command, []), recorded["operator"].get(command, [])
            )
            for command in commands
        },
    }


def save(recorded: dict, path: Path = RECORDING) -> None:
    _write(path, json.dumps(recorded, indent=1) + "\n")


def grown(committed: dict, recorded: dict) -> list[str]:
    """What a run recorded that the committed recording lacks: a call a policy would deny."""
    found = [
        f"deployer: {a} on {r}"
        for a, r in recorded["deployer"]
        if [a, r] not in committed["deployer"]
    ]
    for command, entries in recorded["operator"].items():
        known = committed["operator"].get(command, [])
        found += [f"operator ({command}): {a} on {r}" for a, r in entries if [a, r] not in known]
    return found


def role_entries(committed: dict, role: str) -> list[tuple[str, str]]:
    """The (action, resource) pairs a role's policy allows."""
    deployer = {tuple(e) for e in committed["deployer"]}
    deployer |= {(a, r) for a, r, _ in NOT_RECORDED["deployer"]}
    # The pipeline's apply job runs `mlops verify` with the deployer's role.
    deployer |= {tuple(e) for e in committed["operator"].get("verify", [])}
    if role == "deployer":
        return sorted(deployer)
    if role == "planner":  # and what the plan job's `mlops status` reads
        reads = deployer | {tuple(e) for e in committed["operator"].get("status", [])}
        return sorted(e for e in reads if privilege(e[0])["access_level"] in ("Read", "List"))
    return sorted({tuple(e) for entries in committed["operator"].values() for e in entries})


def tag_condition(action: str, resource: str) -> dict | None:
    """``aws:ResourceTag/Project`` = the stack's name, for an action on a resource known only
    by an AWS-assigned ID (``instance/*``), where the resource type supports the key: for the
    calls on a resource that exists, tagged, by then (not the one creating it); for tagging,
    only if it has the tag already (IfExists: what is being created has none yet), so no other
    project's resource can be tagged into the stack. API Gateway is left out: its routes and
    integrations carry no tags."""
    prefix, name = action.split(":", 1)
    if resource == "*" or "${name}" in resource or "_bucket}" in resource:
        return None
    if prefix == "apigateway" or ":${account_id}:" not in resource:
        return None
    if SAGEMAKER_LOG_GROUP.search(resource.rstrip("*")):
        return None
    service = definitions()[prefix]
    kind = kind_of(resource.replace("${partition}", PARTITION), service["resources"])
    if "aws:ResourceTag/${TagKey}" not in service["resource_condition_keys"].get(kind, []):
        return None
    if "Tag" in name:
        return {"StringEqualsIfExists": {f"aws:ResourceTag/{STACK_TAG}": "${name}"}}
    if name.startswith(("Create", "Run", "Register")):
        return None
    return {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": "${name}"}}


# The services the stack's roles are handed to, by the prefix of the actions that hand them.
PASSED_TO = {
    "ec2": "ec2.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "sagemaker": "sagemaker.amazonaws.com",
    "scheduler": "scheduler.amazonaws.com",
}


def hands_a_role(action: str) -> bool:
    """Whether the reference lists iam:PassRole among the action's dependent actions."""
    entry = privilege(action)
    return entry is not None and any(
        "iam:PassRole" in kind["dependent_actions"] for kind in entry["resource_types"]
    )


def pass_role_condition(entries: Iterable[tuple[str, str]]) -> dict:
    """iam:PassRole only to the services this role's calls hand roles to (IAM User Guide,
    "Granting a user permissions to pass a role to an AWS service": iam:PassedToService):
    those of the calls that hand one, not of every call it makes."""
    prefixes = {action.split(":", 1)[0] for action, _ in entries if hands_a_role(action)}
    services = sorted(PASSED_TO[p] for p in prefixes & PASSED_TO.keys())
    return {"StringEquals": {"iam:PassedToService": services}}


def policy(entries: Iterable[tuple[str, str]]) -> dict:
    """One statement per service and set of resources (and condition), actions sorted. The
    tag condition holds for an action only when all its resources qualify for it."""
    entries = list(entries)
    resources_of: dict[str, set[str]] = defaultdict(set)
    for action, resource in entries:
        resources_of[action].add(resource)
    grouped: dict[tuple[str, tuple[str, ...], str], list[str]] = defaultdict(list)
    for action, resources in resources_of.items():
        if action == "iam:PassRole":
            conditions = {json.dumps(pass_role_condition(entries), sort_keys=True)}
        else:
            by_resource = {r: tag_condition(action, r) for r in resources}
            conditions = {json.dumps(c, sort_keys=True) for c in by_resource.values()}
            unscoped = [r for r, c in by_resource.items() if c is None]
            if len(conditions) > 1 and not all("${name}" in r for r in unscoped):
                raise ValueError(f"{action}: resources the tag condition cannot scope: {resources}")
        # One condition for all of an action's resources: an action that needs two (an alias
        # by name and its key by ID) reads as one statement, as policy linters expect, and
        # the name alone scopes the call.
        condition = conditions.pop() if len(conditions) == 1 else "null"
        grouped[(action.split(":", 1)[0], tuple(sorted(resources)), condition)].append(action)
    statements = []
    counters: dict[str, int] = defaultdict(int)
    for (prefix, resources, condition), actions in sorted(grouped.items()):
        counters[prefix] += 1
        statement = {
            "Sid": "".join(part.title() for part in re.split(r"[-_]", prefix))
            + str(counters[prefix]),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": list(resources) if len(resources) > 1 else resources[0],
        }
        if condition != "null":
            statement["Condition"] = json.loads(condition)
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


TABLE_START = "<!-- BEGIN_ANY_RESOURCE -->"
TABLE_END = "<!-- END_ANY_RESOURCE -->"
OPERATOR_START = "<!-- BEGIN_OPERATOR_POLICY -->"
OPERATOR_END = "<!-- END_OPERATOR_POLICY -->"


def operator_block(committed: dict) -> str:
    """The project README's copy of the operator's policy, placeholders and all."""
    documents = parts(policy(role_entries(committed, "operator")))
    body = "\n".join(json.dumps(document, indent=2) for document in documents)
    return f"{OPERATOR_START}\n```json\n{body}\n```\n{OPERATOR_END}"


def _replace_block(path: Path, start_marker: str, end_marker: str, block: str) -> None:
    text = path.read_text()
    start, end = text.index(start_marker), text.index(end_marker) + len(end_marker)
    _write(path, text[:start] + block + text[end:])


def wildcard_table(committed: dict) -> str:
    """The README's table of the actions a policy allows on ``*``, by role."""
    by_action: dict[str, list[str]] = defaultdict(list)
    for role in ROLES:
        for action, resource in role_entries(committed, role):
            if resource == "*":
                by_action[action].append(role)
    rows = [f"| `{action}` | {', '.join(roles)} |" for action, roles in sorted(by_action.items())]
    return "\n".join(
        [
            TABLE_START,
            "| action | roles |",
            "| --- | --- |",
            *rows,
            TABLE_END,
        ]
    )


# IAM's limit on a managed policy: 6,144 characters, whitespace not counted (IAM User Guide,
# "IAM and AWS STS quotas"). Parts are sized for the longest values the placeholders can take.
MANAGED_POLICY_CHARACTERS = 6144
LONGEST = {
    "${partition}": "aws-us-gov",
    "${region}": "ap-southeast-22",
    "${account_id}": "123456789012",
    "${name}": "n" * 32,
    "${data_bucket}": "d" * 63,
    "${state_bucket}": "b" * 63,
    "${state_key}": "k" * 200,
}


def rendered_size(document: dict) -> int:
    """Characters IAM counts once the placeholders hold their longest values."""
    text = json.dumps(document, separators=(",", ":"))
    for placeholder, value in LONGEST.items():
        text = text.replace(placeholder, value)
    return len(re.sub(r"\s", "", text))


def parts(document: dict) -> list[dict]:
    """The statements in order, in as few documents as fit the managed-policy size."""
    found: list[dict] = []
    for statement in document["Statement"]:
        if (
            found
            and rendered_size({**found[-1], "Statement": [*found[-1]["Statement"], statement]})
            <= MANAGED_POLICY_CHARACTERS
        ):
            found[-1]["Statement"].append(statement)
            continue
        found.append({"Version": document["Version"], "Statement": [statement]})
        if rendered_size(found[-1]) > MANAGED_POLICY_CHARACTERS:
            raise ValueError(f"statement {statement['Sid']} alone exceeds a managed policy")
    return found


def _write(path: Path, text: str) -> None:  # whole or not at all
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def write_templates(committed: dict) -> None:
    """Every role's templates (all computed before any file changes) and the README table."""
    documents = {
        f"{role}-{number:02d}.json.tftpl": document
        for role in ROLES
        for number, document in enumerate(parts(policy(role_entries(committed, role))), 1)
    }
    TEMPLATES.mkdir(exist_ok=True)
    for stale in TEMPLATES.glob("*.json.tftpl"):
        if stale.name not in documents:
            stale.unlink()
    for name, document in documents.items():
        _write(TEMPLATES / name, json.dumps(document, indent=2) + "\n")
        logger.info("%s: %d statements", name, len(document["Statement"]))
    _replace_block(README, TABLE_START, TABLE_END, wildcard_table(committed))
    _replace_block(PROJECT_README, OPERATOR_START, OPERATOR_END, operator_block(committed))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m iam_policies", description=__doc__.split("\n\n")[0]
    )
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_templates(json.loads(RECORDING.read_text()))
