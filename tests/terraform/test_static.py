"""Terraform checks that need no AWS: fmt, validate and `terraform test` (mocked provider,
plan-level invariants and every variable validation) for the root and every module."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from local_stack.terraform import MODULES, Terraform, make_workspace
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, terraform_binary):
    return make_workspace(tmp_path_factory.mktemp("tf-static"))


def test_fmt_is_clean(terraform_binary):
    result = subprocess.run(
        [terraform_binary, "fmt", "-check", "-recursive", "-diff"],
        cwd=REPO_ROOT / "terraform",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


@pytest.mark.parametrize("directory", [".", *(f"modules/{m}" for m in MODULES)])
def test_validates_and_passes_its_terraform_tests(workspace, directory):
    terraform = Terraform(workspace / directory)
    terraform.run("init", "-backend=false", "-input=false", "-no-color")
    terraform.validate()
    result = terraform.run("test", "-no-color")
    assert ", 0 failed" in result.stdout, result.stdout
    assert (workspace / directory / "tests").is_dir(), f"{directory} has no terraform tests"


def test_training_instance_module_stands_alone(tmp_path, terraform_binary):
    """Copied out of the repository, as a registry module would be, it still validates and
    passes its tests: everything it renders lives inside its own folder."""
    module = tmp_path / "training_instance"
    shutil.copytree(
        REPO_ROOT / "terraform" / "modules" / "training_instance",
        module,
        ignore=shutil.ignore_patterns(".terraform*"),
    )
    terraform = Terraform(module)
    terraform.run("init", "-backend=false", "-input=false", "-no-color")
    terraform.validate()
    result = terraform.run("test", "-no-color")
    assert ", 0 failed" in result.stdout, result.stdout


@pytest.mark.parametrize("directory", ["terraform", *(f"terraform/modules/{m}" for m in MODULES)])
def test_no_configuration_reaches_outside_its_module(directory):
    """A module (or the root) reads only its own files: no path climbs out of its folder."""
    folder = REPO_ROOT / directory
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {line.strip()}"
        for path in sorted(folder.glob("*.tf"))
        for line in path.read_text().splitlines()
        if "path.module}/.." in line or "path.root}/.." in line
    ]
    assert offenders == []
