"""Terraform checks that need no AWS: fmt, validate and `terraform test` (mocked provider,
plan-level invariants and every variable validation) for the root and every module, and init
(from the provider mirror) and validate for every example."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from local_stack.demo.terraform import MODULES, Terraform, make_workspace
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform]


def passed_runs(stdout: str) -> int:
    """How many runs `terraform test` passed, when none failed (0 when any did)."""
    summary = re.search(r"Success! (\d+) passed, 0 failed", stdout)
    return int(summary[1]) if summary else 0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, terraform_binary):
    return make_workspace(tmp_path_factory.mktemp("tf-static"))


# training_instance is tested from a copy of its folder alone (below), which covers it here.
DIRECTORIES = [
    ".",
    "bootstrap",
    *(f"modules/{m}" for m in MODULES if m != "training_instance"),
]
# The examples have no terraform tests of their own: tests/terraform/test_examples.py applies
# them to the emulator.
EXAMPLES = sorted(
    f"examples/{p.name}" for p in (REPO_ROOT / "terraform" / "examples").iterdir() if p.is_dir()
)


def init_validate_test(folder: Path) -> str:
    """init, then `terraform test` where the folder has tests, else `terraform validate`.
    The test runner validates the whole configuration before each run, as validate does
    (mock providers hand resource validation to the real provider), so a passing test has
    validated it, and a separate validate would only start the provider again."""
    terraform = Terraform(folder)
    terraform.run("init", "-backend=false", "-input=false", "-no-color")
    if not (folder / "tests").is_dir():
        terraform.validate()
        return ""
    return terraform.run("test", "-no-color").stdout


@pytest.fixture(scope="module")
def terraform_tests(workspace) -> dict[str, Future]:
    """`terraform test` of every configuration, a few at a time: each run spends most of its
    time starting the provider, which leaves the other core idle."""
    pool = ThreadPoolExecutor(max_workers=3)
    try:
        yield {d: pool.submit(init_validate_test, workspace / d) for d in DIRECTORIES + EXAMPLES}
    finally:
        pool.shutdown(wait=True)


def test_fmt_is_clean(terraform_binary):
    result = subprocess.run(
        [terraform_binary, "fmt", "-check", "-recursive", "-diff"],
        cwd=REPO_ROOT / "terraform",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


@pytest.mark.parametrize("directory", DIRECTORIES)
def test_validates_and_passes_its_terraform_tests(terraform_tests, directory):
    stdout = terraform_tests[directory].result()
    assert passed_runs(stdout) > 0, stdout


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_inits_offline_and_validates(terraform_tests, example):
    terraform_tests[example].result()


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
    result = terraform.run("test", "-no-color")  # validates the configuration too (above)
    assert passed_runs(result.stdout) > 0, result.stdout


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
