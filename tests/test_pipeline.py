"""The CI pipeline and the commit hooks, checked offline: the workflows match GitHub's schema and
pass zizmor's audits, every action is pinned to a commit, AWS is reached through OIDC only with
the permissions each job declares, and every pre-commit hook is local and runs a tool that this
layout has."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.checkov_changed import directories
from tests.training import REPO_ROOT

WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
PRE_COMMIT_CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
# Console scripts that requirements.txt installs live next to the interpreter running pytest.
BIN = Path(sys.executable).parent
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
AWS_KEY_INPUTS = {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<value>.+?)\s*$")
PINNED = re.compile(
    r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<tag>v\d+\.\d+\.\d+)$"
)


def run(*command: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {BIN}: run `make setup` (requirements.txt pins it)")
    return path


def module(name: str) -> str:
    if importlib.util.find_spec(name) is None:
        pytest.fail(f"{name} is not installed here: run `make setup` (requirements.txt pins it)")
    return name


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def jobs() -> list[tuple[str, str, dict]]:
    return [
        (workflow.name, name, job)
        for workflow in WORKFLOWS
        for name, job in load(workflow)["jobs"].items()
    ]


def steps_using(job: dict, action: str) -> list[dict]:
    return [step for step in job.get("steps", []) if step.get("uses", "").startswith(f"{action}@")]


def hooks() -> list[dict]:
    return [hook for repo in load(PRE_COMMIT_CONFIG)["repos"] for hook in repo["hooks"]]


@pytest.mark.unit
def test_the_pipeline_has_a_test_and_a_terraform_workflow():
    assert [path.name for path in WORKFLOWS] == ["terraform.yml", "test.yml"]
    assert list(WORKFLOW_DIR.glob("*.yaml")) == []  # one extension, so the globs here see all


@pytest.mark.integration
def test_the_workflows_match_githubs_schema():
    result = run(
        sys.executable,
        "-m",
        module("check_jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *WORKFLOWS,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def describe(finding: dict) -> str:
    where = finding["locations"][0]
    path = where["symbolic"]["key"].get("Local", {}).get("verbatim_path", "?")
    row = where["concrete"]["location"]["start_point"]["row"] + 1
    severity = finding["determinations"]["severity"]
    return f"{finding['ident']} ({severity}) at {path}:{row}: {where['symbolic']['annotation']}"


@pytest.mark.integration
def test_zizmor_finds_nothing_in_the_workflows_or_the_hooks():
    result = run(
        tool("zizmor"),
        "--offline",
        "--no-progress",
        "--format",
        "json",
        WORKFLOW_DIR.relative_to(REPO_ROOT),
        PRE_COMMIT_CONFIG.relative_to(REPO_ROOT),
    )
    if not result.stdout.strip():
        pytest.fail(
            f"zizmor reported nothing parseable (exit {result.returncode}): {result.stderr}"
        )
    findings = [describe(finding) for finding in json.loads(result.stdout)]
    assert findings == []
    assert result.returncode == 0, result.stderr


@pytest.mark.unit
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(workflow: Path):
    pins = [
        m["value"] for line in workflow.read_text().splitlines() if (m := USES_LINE.match(line))
    ]
    assert pins, f"{workflow.name} uses no action"
    assert [pin for pin in pins if not PINNED.match(pin)] == []
    parsed = [
        step["uses"]
        for job in load(workflow)["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    assert len(parsed) == len(pins)  # every uses: is on a line of its own, comment included


@pytest.mark.unit
def test_each_action_has_one_version_across_the_workflows():
    versions: dict[str, set[str]] = {}
    for workflow in WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if (use := USES_LINE.match(line)) and (pin := PINNED.match(use["value"])):
                versions.setdefault(pin["action"], set()).add(f"{pin['sha']} {pin['tag']}")
    assert {action: pins for action, pins in versions.items() if len(pins) > 1} == {}


@pytest.mark.unit
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_permissions_are_read_only(workflow: Path):
    permissions = load(workflow).get("permissions", "missing")
    assert permissions == {} or (
        isinstance(permissions, dict) and set(permissions.values()) == {"read"}
    ), f"{workflow.name}: top-level permissions {permissions!r}: want {{}} or read-only"


@pytest.mark.unit
def test_every_job_asks_for_its_permissions_and_oidc_only_where_it_reaches_aws():
    for workflow, name, job in jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{workflow} {name}: no job-level permissions"
        reaches_aws = bool(steps_using(job, AWS_CREDENTIALS))
        oidc = permissions.get("id-token") == "write"
        assert oidc == reaches_aws, f"{workflow} {name}: id-token {permissions.get('id-token')}"


@pytest.mark.unit
def test_aws_credentials_come_from_oidc_roles_never_stored_keys():
    uses_aws = 0
    for workflow, name, job in jobs():
        for step in steps_using(job, AWS_CREDENTIALS):
            uses_aws += 1
            inputs = step.get("with", {})
            role = inputs.get("role-to-assume", "")
            assert re.fullmatch(r"\$\{\{ vars\.\w+ \}\}", role), f"{workflow} {name}: {role!r}"
            assert AWS_KEY_INPUTS.isdisjoint(inputs), f"{workflow} {name}: stored keys"
    assert uses_aws == 3  # the pull request's plan, main's plan and its apply
    for workflow in WORKFLOWS:
        text = workflow.read_text()
        assert not re.search(r"secrets\s*(\.\s*|\[\s*['\"])AWS", text, re.IGNORECASE), workflow


@pytest.mark.unit
def test_no_shell_script_expands_an_expression():
    """Values reach `run:` through `env:`, so nothing a variable holds becomes shell code."""
    inline = [
        f"{workflow} {name}: {step.get('name', step['run'][:40])}"
        for workflow, name, job in jobs()
        for step in job.get("steps", [])
        if "run" in step and "${{" in step["run"]
    ]
    assert inline == []


@pytest.mark.unit
def test_checkouts_leave_no_credentials_behind():
    checkouts = [
        (workflow, name, step)
        for workflow, name, job in jobs()
        for step in steps_using(job, "actions/checkout")
    ]
    assert len(checkouts) == len(jobs())
    for workflow, name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{workflow} {name}"


@pytest.mark.unit
def test_the_apply_is_reviewed_and_never_cancelled():
    terraform = load(WORKFLOW_DIR / "terraform.yml")["jobs"]
    assert terraform["apply"]["environment"] == "production"
    assert terraform["apply"]["concurrency"]["cancel-in-progress"] is False
    scripts = [step.get("run", "") for step in terraform["apply"]["steps"]]
    assert any("terraform -chdir=terraform apply -input=false tfplan" in s for s in scripts)
    assert not any("-auto-approve" in script for script in scripts)


@pytest.mark.unit
def test_main_applies_the_plan_the_reviewer_saw_with_the_artifacts_it_hashed():
    terraform = load(WORKFLOW_DIR / "terraform.yml")["jobs"]
    plan, apply = terraform["plan-main"], terraform["apply"]
    assert apply["needs"] == "plan-main"
    (uploaded,) = steps_using(plan, "actions/upload-artifact")
    (downloaded,) = steps_using(apply, "actions/download-artifact")
    assert uploaded["with"]["name"] == downloaded["with"]["name"]
    assert set(uploaded["with"]["path"].split()) == {
        "terraform/tfplan",
        "terraform/tfplan.txt",
        "build/code.tar.gz",
        "build/lambda.zip",
    }
    apply_scripts = " ".join(step.get("run", "") for step in apply["steps"])
    assert "terraform -chdir=terraform plan" not in apply_scripts
    assert "make package" not in apply_scripts  # the artifacts come with the plan
    roles = {
        name: steps_using(job, AWS_CREDENTIALS)[0]["with"]["role-to-assume"]
        for name, job in terraform.items()
    }
    assert roles == {
        "plan": "${{ vars.AWS_PLAN_ROLE_ARN }}",
        "plan-main": "${{ vars.AWS_PLAN_ROLE_ARN }}",
        "apply": "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
    }


@pytest.mark.integration
def test_the_pre_commit_config_is_valid():
    result = run(sys.executable, "-m", module("pre_commit"), "validate-config", PRE_COMMIT_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.unit
def test_every_hook_is_local():
    assert [repo["repo"] for repo in load(PRE_COMMIT_CONFIG)["repos"]] == ["local"]


@pytest.mark.unit
@pytest.mark.parametrize("hook", hooks(), ids=lambda hook: hook["id"])
def test_every_hook_runs_a_tool_this_layout_has(hook: dict, request):
    executable, *arguments = shlex.split(hook["entry"])
    if "/" in executable:
        path = REPO_ROOT / executable
        assert path.is_file(), f"{executable} is missing: run `make setup`"
        assert os.access(path, os.X_OK), f"{executable} is not executable"
    elif executable == "terraform":
        request.getfixturevalue("terraform_binary")  # skipped with the reason, failed in CI
    else:
        assert shutil.which(executable), f"{executable} is not on PATH"
    scripts = [argument for argument in arguments if argument.endswith(".py")]
    assert all((REPO_ROOT / script).is_file() for script in scripts), scripts


@pytest.mark.unit
def test_the_checkov_hook_scans_the_modules_the_files_belong_to():
    root = Path("terraform")
    bucket, api, bootstrap = (
        root / "modules/data_bucket",
        root / "modules/http_api",
        root / "bootstrap",
    )
    changed = [bucket / "main.tf", api / "variables.tf", api / "tests/validations.tftest.hcl"]
    assert directories(changed) == [bucket, api]
    assert directories([bootstrap / "main.tf"]) == [bootstrap]  # a root module of its own
    assert directories([root / "tests/stack.tftest.hcl"]) == [root]
    assert directories([*changed, root / "main.tf"]) == [root]  # the root scans everything
    assert directories([Path("README.md")]) == []
