"""Terraform checks that need no AWS: fmt, validate and `terraform test` (mocked provider,
plan-level invariants and every variable validation) for the root and every module."""

from __future__ import annotations

import subprocess

import pytest

from tests.terraform.workspace import MODULES, make_workspace
from tests.terraform_cli import Terraform
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
