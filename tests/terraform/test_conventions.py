"""What fmt, validate and plans cannot see, read with python-hcl2: every variable typed and
described, the important ones validated, every output described, IAM policies built from
aws_iam_policy_document, tags on every taggable resource, and the module file layout."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

from local_stack.demo.terraform import LOCAL_STATE, MODULES, Terraform, make_workspace
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform]

TERRAFORM = REPO_ROOT / "terraform"
EXAMPLES = sorted(p for p in (TERRAFORM / "examples").iterdir() if p.is_dir())
DIRECTORIES = [
    TERRAFORM,
    TERRAFORM / "bootstrap",
    *(TERRAFORM / "modules" / m for m in MODULES),
    *EXAMPLES,
]
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
# Variables a reviewer expects to see guarded: names, types, ARNs, capacities, cooldowns.
MUST_VALIDATE = {
    "access_policies": {"name", "region", "data_bucket", "state_bucket", "state_key"},
    "bootstrap": {
        "region",
        "bucket_name",
        "state_key",
        "kms_key_arn",
        "stack_name",
        "stack_bucket_name",
        "ci_repository",
    },
    "batch_transform": {
        "name",
        "bucket_name",
        "input_prefix",
        "output_prefix",
        "models_prefix",
        "image_registry_id",
        "image_repositories",
        "kms_key_arn",
    },
    "bucket_hardening": {"bucket_name", "kms_key_arn"},
    "ci_roles": {
        "name",
        "repository",
        "deploy_environment",
        "main_branch",
        "deployer_policy_documents",
        "planner_policy_documents",
        "oidc_provider_arn",
    },
    "data_bucket": {"bucket_name", "kms_key_arn", "prefixes", "capture_expiration_days"},
    "http_api": {
        "name",
        "function_name",
        "kms_key_arn",
        "function_alias_arn",
        "function_timeout",
        "throttling",
        "cors_allow_origins",
        "authorization",
    },
    "notebook_instance": {
        "name",
        "instance_type",
        "volume_size",
        "platform_identifier",
        "idle_minutes",
        "subnet_id",
        "security_group_ids",
        "prefixes",
        "training_role_arn",
        "endpoint_arn",
        "bucket_name",
        "kms_key_arn",
        "model_registry",
    },
    "sagemaker_endpoint": {
        "name",
        "model_data_url",
        "instance_type",
        "autoscaling",
        "current_instance_count",
        "serverless",
        "deployment",
        "rollback_alarms",
        "data_capture",
        "async_inference",
        "shadow",
        "off_hours",
        "log_retention_days",
    },
    "model_monitor": {
        "name",
        "endpoint_name",
        "capture_s3_uri",
        "baseline_s3_prefix",
        "metric_namespace",
        "schedule_expression",
        "window_minutes",
        "drift_score_threshold",
        "low_confidence_share_threshold",
        "alarm_topic_arn",
    },
    "lambda_invoker": {
        "name",
        "endpoint_arn",
        "timeout",
        "reserved_concurrency",
        "provisioned_concurrency",
        "cors_allow_origin",
        "max_image_bytes",
        "async_inference",
        "metric_namespace",
    },
    "training_instance": {
        "name",
        "instance_type",
        "ami_id",
        "root_volume_size",
        "run_id",
        "hyperparameters",
    },
    "monitoring": {
        "name",
        "alarm_email",
        "endpoint_mode",
        "monthly_budget",
        "transform_job_prefix",
        "async_backlog_threshold",
        "async_oldest_request_seconds",
        "async_failures_threshold",
    },
    "model_registry": {"name", "description"},
    "sagemaker_training_role": {"name", "image_registry_id", "add_pending_versions_policy_json"},
    "terraform": {
        "name",
        "region",
        "endpoint_mode",
        "endpoint_data_capture",
        "endpoint_shadow_model_package_arn",
    },
    # The examples validate nothing themselves: each input reaches a module (or the provider)
    # that validates it, so each rule has one place.
    **{example.name: set() for example in EXAMPLES},
}


@cache
def parsed(path: Path) -> dict:
    with open(path) as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def blocks(directory: Path, kind: str) -> dict[str, dict]:
    found = {}
    for path in sorted(directory.glob("*.tf")):
        for block in parsed(path).get(kind, []):
            found.update(block)
    return found


def resources(directory: Path) -> list[tuple[str, str, dict]]:
    found = []
    for path in sorted(directory.glob("*.tf")):
        for block in parsed(path).get("resource", []):
            for resource_type, instances in block.items():
                found += [(resource_type, name, body) for name, body in instances.items()]
    return found


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: d.name)
def test_module_layout(directory: Path):
    names = {p.name for p in directory.iterdir()}
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} <= names


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: d.name)
def test_every_variable_is_typed_and_described(directory: Path):
    variables = blocks(directory, "variable")
    assert variables
    for name, body in variables.items():
        assert body.get("type"), f"{directory.name}: variable {name} has no type"
        assert len(body.get("description", "")) > 10, f"{directory.name}: {name} undescribed"
        assert body["type"] != "${any}", f"{directory.name}: {name} is typed any"


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: d.name)
def test_important_variables_are_validated(directory: Path):
    variables = blocks(directory, "variable")
    unvalidated = {n for n in MUST_VALIDATE[directory.name] if not variables[n].get("validation")}
    assert not unvalidated, f"{directory.name}: no validation for {sorted(unvalidated)}"


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: d.name)
def test_every_output_is_described(directory: Path):
    for name, body in blocks(directory, "output").items():
        assert len(body.get("description", "")) > 10, f"{directory.name}: output {name}"


def test_policies_come_from_policy_documents():
    """No heredoc or jsonencode IAM JSON: every policy argument is a policy document's json."""
    policy_arguments = {"policy", "assume_role_policy"}
    for directory in DIRECTORIES:
        for resource_type, name, body in resources(directory):
            for argument in policy_arguments & body.keys():
                value = body[argument]
                where = f"{resource_type}.{name}.{argument} = {value!r}"
                assert value.startswith("${data.aws_iam_policy_document."), where
                assert value.endswith(".json}"), where
        text = "\n".join(p.read_text() for p in directory.glob("*.tf"))
        assert "jsonencode(" not in text or "Statement" not in text
        assert "<<EOF" not in text
        assert "<<POLICY" not in text


@pytest.fixture(scope="module")
def taggable(tmp_path_factory, terraform_binary) -> set[str]:
    """Resource types whose provider schema has a tags argument."""
    workspace = make_workspace(tmp_path_factory.mktemp("tf-schema"))
    (workspace / "local_state_override.tf").write_text(LOCAL_STATE)  # schema needs a backend
    terraform = Terraform(workspace)
    terraform.init()
    schema = json.loads(terraform.run("providers", "schema", "-json").stdout)
    aws = schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    return {name for name, body in aws.items() if "tags" in body["block"].get("attributes", {})}


def test_tags_reach_every_taggable_resource(taggable: set[str]):
    for directory in DIRECTORIES:
        for resource_type, name, body in resources(directory):
            if resource_type in taggable:
                assert "var.tags" in str(body.get("tags", "")), (
                    f"{directory.name}: {resource_type}.{name} does not pass var.tags"
                )
    module_calls = blocks(TERRAFORM, "module")
    for name, body in module_calls.items():
        assert body.get("tags") == "${var.tags}", f"module {name} does not get var.tags"


def test_root_sets_default_tags():
    provider = parsed(TERRAFORM / "providers.tf")["provider"][0]["aws"]
    assert "var.tags" in str(provider["default_tags"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_examples_tag_everything_and_call_the_modules_from_here(example: Path):
    """A copied example keeps the conventions: default tags from var.tags, var.tags to every
    module that takes tags, and modules by relative source (repointed when copied)."""
    assert "var.tags" in str(blocks(example, "provider")["aws"]["default_tags"])
    for name, body in blocks(example, "module").items():
        source = body["source"]
        assert source.startswith("../../modules/"), f"module {name}: {source}"
        module = TERRAFORM / "modules" / source.removeprefix("../../modules/")
        if "tags" in blocks(module, "variable"):
            assert body.get("tags") == "${var.tags}", f"module {name} does not get var.tags"


def test_root_pins_the_provider_and_commits_the_lock_file():
    versions = parsed(TERRAFORM / "versions.tf")["terraform"][0]
    assert versions["required_providers"][0]["aws"]["version"] == "~> 5.100"
    lock = (TERRAFORM / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    tracked = subprocess.run(
        ["git", "ls-files", "terraform/.terraform.lock.hcl"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert tracked.strip() == "terraform/.terraform.lock.hcl"


def test_module_readmes_have_current_tables():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "terraform_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `make fmt` to update: {result.stdout}"


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda d: d.name)
def test_every_validation_has_its_rejecting_run(directory: Path):
    """One `terraform test` run per validation rule that expects it to fail (STYLE.md: the
    rule's own error_message is the spec)."""
    tests = "\n".join(p.read_text() for p in sorted((directory / "tests").glob("*.tftest.hcl")))
    runs = re.findall(r"expect_failures\s*=\s*\[([^\]]*)\]", tests)
    rejected = Counter(
        name.strip().removeprefix("var.") for run in runs for name in run.split(",") if name.strip()
    )
    missing = {
        name: len(body["validation"]) - rejected[name]
        for name, body in blocks(directory, "variable").items()
        if len(body.get("validation", [])) > rejected[name]
    }
    assert not missing, f"{directory.name}: validations without a rejecting run: {missing}"
