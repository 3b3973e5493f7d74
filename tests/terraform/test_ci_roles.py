"""modules/ci_roles applied to the emulator with the stack's generated policies: GitHub's OIDC
provider, and roles whose trust admits exactly the jobs the pipeline runs (evaluated with the
claims GitHub puts in its tokens: docs.github.com, "About security hardening with OpenID
Connect", example subject claims)."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from local_stack.demo.terraform import Terraform
from local_stack.emulator import client
from tests.iam import policy_allows
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

FIXTURE = REPO_ROOT / "tests" / "terraform" / "fixtures" / "ci_roles"
REPOSITORY = "example-org/dog-breeds"
ISSUER = "token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def ci_roles(tmp_path_factory, emulator, terraform_binary):
    root = tmp_path_factory.mktemp("tf-ci-roles")
    shutil.copytree(
        REPO_ROOT / "terraform" / "modules",
        root / "terraform" / "modules",
        ignore=shutil.ignore_patterns(".terraform*", "tests"),
    )
    shutil.copytree(FIXTURE, root / "ci_roles")
    terraform = Terraform(root / "ci_roles")
    terraform.use_emulator(emulator)
    terraform.init()
    variables = {"name": f"ci-{uuid.uuid4().hex[:6]}", "repository": REPOSITORY}
    terraform.apply(variables)
    yield terraform.outputs() | variables
    terraform.destroy(variables)
    iam = client("iam", emulator)
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(variables["name"])]


def trust(emulator, role_arn: str) -> dict:
    role = client("iam", emulator).get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
    return role["AssumeRolePolicyDocument"]


def may_assume(document: dict, subject: str) -> bool:
    claims = {f"{ISSUER}:aud": "sts.amazonaws.com", f"{ISSUER}:sub": subject}
    return policy_allows(document, "sts:AssumeRoleWithWebIdentity", "*", claims)


def test_the_deployer_is_only_for_the_protected_environment(ci_roles, emulator):
    document = trust(emulator, ci_roles["deployer_role_arn"])
    assert may_assume(document, f"repo:{REPOSITORY}:environment:production")
    for subject in (
        f"repo:{REPOSITORY}:pull_request",
        f"repo:{REPOSITORY}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:environment:staging",
        "repo:example-org/another-repo:environment:production",
    ):
        assert not may_assume(document, subject), subject


def test_the_planner_is_for_pull_requests_and_main(ci_roles, emulator):
    document = trust(emulator, ci_roles["planner_role_arn"])
    assert may_assume(document, f"repo:{REPOSITORY}:pull_request")
    assert may_assume(document, f"repo:{REPOSITORY}:ref:refs/heads/main")
    for subject in (
        f"repo:{REPOSITORY}:ref:refs/heads/feature",
        f"repo:{REPOSITORY}:environment:production",
        "repo:example-org/another-repo:pull_request",
    ):
        assert not may_assume(document, subject), subject


def test_a_token_for_another_audience_is_refused(ci_roles, emulator):
    document = trust(emulator, ci_roles["planner_role_arn"])
    claims = {
        f"{ISSUER}:aud": "https://example.com",
        f"{ISSUER}:sub": f"repo:{REPOSITORY}:pull_request",
    }
    assert not policy_allows(document, "sts:AssumeRoleWithWebIdentity", "*", claims)


def test_the_roles_trust_githubs_provider_and_hold_the_generated_policies(ci_roles, emulator):
    iam = client("iam", emulator)
    (provider,) = [
        p
        for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        if p["Arn"].endswith(f"oidc-provider/{ISSUER}")
    ]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])[
        "ClientIDList"
    ] == ["sts.amazonaws.com"]
    for role in ("deployer", "planner"):
        arn = ci_roles[f"{role}_role_arn"]
        (statement,) = trust(emulator, arn)["Statement"]
        assert statement["Principal"] == {"Federated": provider["Arn"]}
        attached = iam.list_attached_role_policies(RoleName=arn.rsplit("/", 1)[1])
        names = sorted(p["PolicyName"] for p in attached["AttachedPolicies"])
        assert names
        assert all(n.startswith(f"{ci_roles['name']}-ci-{role}-") for n in names)
        for policy in attached["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)
            text = json.dumps(document["PolicyVersion"]["Document"])
            assert "${" not in text
            assert ci_roles["name"] in text
