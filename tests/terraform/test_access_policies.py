"""The deployer's, planner's and operator's policies: generated from the recorded calls, each
call allowed, dangerous calls denied, read-only where it must be, and within IAM's limits.

The recording itself is kept current by the applied stack's teardown (tests/stack.py): a run
that makes a call the recording lacks fails there until `make iam-policies` records anew.
The policies are evaluated as Terraform renders them (terraform/bootstrap applied to the
emulator outputs them) with moto's IAM policy engine (tests/iam.py).
"""

from __future__ import annotations

import json
import re

import pytest
from parliament import analyze_policy_string

from iam_policies import policies
from iam_policies.calls import privilege
from tests.iam import policy_allows

COMMITTED = json.loads(policies.RECORDING.read_text())
ACCOUNT = "123456789012"


def test_the_templates_are_the_ones_the_recording_gives():
    for role in policies.ROLES:
        expected = policies.parts(policies.policy(policies.role_entries(COMMITTED, role)))
        committed = [
            json.loads(path.read_text())
            for path in sorted(policies.TEMPLATES.glob(f"{role}-*.json.tftpl"))
        ]
        assert committed == expected, f"{role}: run `make iam-policies` (or its last step)"


def test_the_module_readme_lists_every_action_on_any_resource():
    readme = policies.README.read_text()
    assert policies.wildcard_table(COMMITTED) in readme, "run `make iam-policies`"


def test_each_part_fits_a_managed_policy_at_the_longest_names():
    """IAM User Guide, "IAM and AWS STS quotas": a managed policy holds at most 6,144
    characters, whitespace not counted; a role takes 10 managed policies by default."""
    for role in policies.ROLES:
        templates = sorted(policies.TEMPLATES.glob(f"{role}-*.json.tftpl"))
        assert 1 <= len(templates) <= 9, f"{role}: {len(templates)} parts (+1 for a state key)"
        for path in templates:
            size = policies.rendered_size(json.loads(path.read_text()))
            assert size <= policies.MANAGED_POLICY_CHARACTERS, f"{path.name}: {size}"


def statements(role: str) -> list[dict]:
    return [
        statement
        for path in sorted(policies.TEMPLATES.glob(f"{role}-*.json.tftpl"))
        for statement in json.loads(path.read_text())["Statement"]
    ]


@pytest.mark.parametrize("role", policies.ROLES)
def test_no_wildcard_actions_and_any_resource_only_where_iam_has_none(role):
    for statement in statements(role):
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, f"{role} {statement['Sid']}: {action}"
            assert privilege(action) is not None, f"{action} is no IAM action"
        if statement["Resource"] == "*":
            for action in statement["Action"]:
                required = [
                    t["resource_type"]
                    for t in privilege(action)["resource_types"]
                    if t["resource_type"].endswith("*")
                ]
                assert not required, f"{role}: {action} on * though IAM scopes it to {required}"


def test_the_planner_only_reads():
    """A pull request's plan runs with -lock=false: reading the state is all it needs of the
    state bucket, and nothing it may do changes anything (access levels of the Service
    Authorization Reference)."""
    for statement in statements("planner"):
        for action in statement["Action"]:
            assert privilege(action)["access_level"] in ("Read", "List"), action


@pytest.mark.terraform
@pytest.mark.integration
@pytest.mark.slow
def test_the_rendered_planner_only_reads(rendered):
    for statement in rendered["planner"]["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            assert privilege(action)["access_level"] in ("Read", "List"), action


@pytest.fixture(scope="module")
def rendered(applied_stack) -> dict[str, dict]:
    """Each role's documents as terraform/bootstrap rendered them for the applied stack,
    merged into one document per role."""
    outputs = applied_stack["state"]["bootstrap"].outputs()
    merged = {}
    for role in policies.ROLES:
        documents = [json.loads(d) for d in outputs[f"{role}_policy_documents"]]
        merged[role] = {
            "Version": "2012-10-17",
            "Statement": [s for d in documents for s in d["Statement"]],
        }
    return merged


def concrete(arn: str, stack: dict, emulator) -> str:
    """A recorded ARN with this stack's values, and a run's own part where it has ``*``."""
    values = {
        "partition": "aws",
        "region": emulator.region,
        "account_id": ACCOUNT,
        "name": stack["name"],
        "data_bucket": stack["outputs"]["bucket_name"],
        "state_bucket": stack["state"]["bucket"],
        "state_key": stack["state"]["key"],
    }
    arn = re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], arn)
    return arn if arn == "*" else arn.replace("*", "run-1a2b3c")


@pytest.mark.terraform
@pytest.mark.integration
@pytest.mark.slow
def test_every_recorded_call_is_allowed(rendered, applied_stack, emulator):
    tagged = {
        f"aws:ResourceTag/{policies.STACK_TAG}": applied_stack["name"],
        "iam:PassedToService": "sagemaker.amazonaws.com",
    }
    for role in policies.ROLES:
        for action, resource in policies.role_entries(COMMITTED, role):
            arn = concrete(resource, applied_stack, emulator)
            assert policy_allows(rendered[role], action, arn, tagged), f"{role}: {action} {arn}"


def dangerous(name: str) -> list[tuple[str, str, dict]]:
    """Calls none of the roles may make: another project's data and resources, IAM users,
    handing on roles that are not the stack's, and account-wide settings."""
    other = {f"aws:ResourceTag/{policies.STACK_TAG}": "another-project"}
    region = f"us-east-1:{ACCOUNT}"
    return [
        ("s3:GetObject", "arn:aws:s3:::another-project-data/customers.csv", {}),
        ("s3:PutObject", "arn:aws:s3:::another-project-data/customers.csv", {}),
        ("s3:DeleteBucket", "arn:aws:s3:::another-project-data", {}),
        ("s3:PutBucketPolicy", "arn:aws:s3:::another-project-data", {}),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/{name}-admin", {}),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin", {}),
        ("iam:CreateLoginProfile", f"arn:aws:iam::{ACCOUNT}:user/admin", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole", {}),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/another-project-app", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/another-project-app", {}),
        ("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),
        ("iam:UpdateAccountPasswordPolicy", "*", {}),
        ("iam:CreateAccountAlias", "*", {}),
        ("s3:PutAccountPublicAccessBlock", "*", {}),
        ("ec2:DisableEbsEncryptionByDefault", "*", {}),
        ("ec2:TerminateInstances", f"arn:aws:ec2:{region}:instance/i-0another", other),
        ("ec2:DeleteSecurityGroup", f"arn:aws:ec2:{region}:security-group/sg-0another", other),
        ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{region}:key/another-project-key", other),
        ("sagemaker:DeleteEndpoint", f"arn:aws:sagemaker:{region}:endpoint/another-project", {}),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{region}:function:another-project", {}),
        ("cloudtrail:StopLogging", f"arn:aws:cloudtrail:{region}:trail/management", {}),
        # Tagging another project's resource into the stack, to delete it next.
        ("ec2:CreateTags", f"arn:aws:ec2:{region}:instance/i-0another", other),
        ("kms:TagResource", f"arn:aws:kms:{region}:key/another-project-key", other),
        # The stack's own role, handed to a service that would run anything with it.
        (
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/{name}-training",
            {"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
        # The CI roles bootstrap makes are named after the stack too: none may touch them.
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{name}-ci-deployer", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{name}-ci-planner", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{name}-ci-deployer", {}),
        # Nor the state bucket, whatever its name: only the state's key and lock file.
        ("s3:DeleteBucket", f"arn:aws:s3:::{name}-tfstate", {}),
        ("s3:PutBucketPolicy", f"arn:aws:s3:::{name}-tfstate", {}),
        ("s3:DeleteObjectVersion", f"arn:aws:s3:::{name}-tfstate/{name}/terraform.tfstate", {}),
    ]


@pytest.mark.terraform
@pytest.mark.integration
@pytest.mark.slow
def test_dangerous_calls_are_denied(rendered, applied_stack):
    for role in policies.ROLES:
        for action, resource, context in dangerous(applied_stack["name"]):
            assert not policy_allows(rendered[role], action, resource, context), (
                f"{role} may {action} on {resource}"
            )


@pytest.mark.terraform
@pytest.mark.integration
@pytest.mark.slow
def test_parliament_finds_nothing_in_the_rendered_policies(rendered):
    for role, document in rendered.items():
        findings = analyze_policy_string(json.dumps(document)).findings
        assert findings == [], f"{role}: {[(f.issue, f.detail) for f in findings]}"


def test_the_readme_shows_the_operator_policy_as_generated():
    readme = policies.PROJECT_README.read_text()
    assert policies.operator_block(COMMITTED) in readme, "run `make iam-policies`"


NAMES = policies.Names(
    name="dbt-1a2b3c",
    data_bucket="dbt-1a2b3c-123456789012",
    state_bucket="dbt-1a2b3c-tfstate",
    state_key="dog-breeds/terraform.tfstate",
    region="us-east-1",
)


@pytest.mark.parametrize(
    ("arn", "general"),
    [
        (
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/dbt-1a2b3c-174a4dd8",
            "arn:${partition}:sagemaker:${region}:${account_id}:endpoint-config/${name}*",
        ),
        (
            "arn:aws:iam::123456789012:role/dbt-1a2b3c-training",
            "arn:${partition}:iam::${account_id}:role/${name}-training",
        ),
        (
            "arn:aws:s3:::dbt-1a2b3c-123456789012/models/run-1/model.tar.gz",
            "arn:${partition}:s3:::${data_bucket}/*",
        ),
        (
            "arn:aws:s3:::dbt-1a2b3c-tfstate/dog-breeds/terraform.tfstate.tflock",
            "arn:${partition}:s3:::${state_bucket}/${state_key}.tflock",
        ),
        (
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-4a799a2f77810bed5",
            "arn:${partition}:ec2:${region}:${account_id}:security-group/*",
        ),
        (
            "arn:aws:apigateway:us-east-1::/apis/vakwqzao/routes/hiopfotg",
            "arn:${partition}:apigateway:${region}::/apis/*",
        ),
        (  # an AWS-owned image: any release of the Deep Learning AMI
            "arn:aws:ec2:us-east-1::image/ami-03cf127a",
            "arn:${partition}:ec2:${region}::image/*",
        ),
        (  # the log group SageMaker creates for every transform job of the account
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TransformJobs",
            "arn:${partition}:logs:${region}:${account_id}:log-group:/aws/sagemaker/TransformJobs*",
        ),
        ("*", "*"),
    ],
    ids=[
        "name-prefix",
        "role",
        "object",
        "lock-file",
        "assigned-id",
        "api",
        "aws-image",
        "sagemaker-log-group",
        "any",
    ],
)
def test_a_recorded_arn_keeps_the_stack_and_drops_what_differs_between_runs(arn, general):
    assert policies.generalize(arn, NAMES) == general


def test_a_log_group_sagemaker_creates_is_not_scoped_by_the_stacks_tag():
    """SageMaker creates /aws/sagemaker/TransformJobs untagged: a Project tag condition would
    deny every read of it on AWS (the emulator evaluates no conditions)."""
    group = "arn:${partition}:logs:${region}:${account_id}:log-group:/aws/sagemaker/TransformJobs*"
    assert policies.tag_condition("logs:DescribeLogStreams", group) is None


def test_a_recording_that_grows_is_reported_call_by_call():
    committed = {"deployer": [["s3:GetObject", "arn:x"]], "operator": {"train": []}}
    recorded = {
        "deployer": [["s3:GetObject", "arn:x"], ["sns:CreateTopic", "arn:y"]],
        "operator": {"train": [["sagemaker:CreateTrainingJob", "arn:z"]]},
    }
    assert policies.grown(committed, recorded) == [
        "deployer: sns:CreateTopic on arn:y",
        "operator (train): sagemaker:CreateTrainingJob on arn:z",
    ]
    assert policies.grown(recorded, committed) == []
