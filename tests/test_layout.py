"""The layout's rules: each top-level package is one concern, and what ships is exactly ml/.

- ``ml/`` runs on training hosts and in the endpoint: it imports the standard library, the
  frameworks those hosts provide and itself; never the operator CLI, the local stack or tests;
- the Lambda imports the standard library, boto3 and its own modules;
- nothing outside ``tests/`` imports ``tests``;
- the code bundle and model.tar.gz carry every module of ``ml/`` and nothing else of ours.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ml.package import build_model_archive
from mlops.bundle import build_code_bundle
from tests.training import REPO_ROOT

OUR_PACKAGES = {"ml", "mlops", "local_stack", "tests", "bench", "scripts"}
# What the training containers, the Deep Learning AMI and the inference container provide
# (plus matplotlib, installed from ml/runtime-requirements.txt).
ML_THIRD_PARTY = {
    "torch",
    "torchvision",
    "numpy",
    "PIL",
    "boto3",
    "botocore",
    "matplotlib",
    "sagemaker_inference",
}
LAMBDA_THIRD_PARTY = {"boto3", "botocore"}
LAMBDA_OWN_MODULES = {"invoker", "lambda_function"}


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (REPO_ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, anywhere in the file."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots - {"__future__"}


def violations(folder: str, allowed: set[str]) -> dict[str, list[str]]:
    found = {}
    for path in python_files(folder):
        outside = sorted(imported_roots(path) - allowed - set(sys.stdlib_module_names))
        if outside:
            found[str(path.relative_to(REPO_ROOT))] = outside
    return found


@pytest.mark.unit
def test_ml_imports_only_what_training_hosts_and_the_endpoint_have():
    assert violations("ml", ML_THIRD_PARTY | {"ml"}) == {}


@pytest.mark.unit
def test_the_lambda_imports_only_the_standard_library_and_boto3():
    assert violations("lambda", LAMBDA_THIRD_PARTY | LAMBDA_OWN_MODULES) == {}


def tracked_python_outside_tests() -> list[Path]:
    """Every Python file git tracks (or would) outside tests/: module templates included."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        REPO_ROOT / name
        for name in listed
        if not name.startswith("tests/") and (REPO_ROOT / name).is_file()
    ]


@pytest.mark.unit
def test_no_code_outside_tests_imports_tests():
    files = tracked_python_outside_tests()
    assert any("templates" in path.parts for path in files)  # not just the packages
    offenders = [
        str(path.relative_to(REPO_ROOT)) for path in files if "tests" in imported_roots(path)
    ]
    assert offenders == []


@pytest.mark.unit
def test_every_top_level_package_is_known_here():
    """A new top-level package must be placed in these rules (and in the README's tree)."""
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")}
    assert packages == OUR_PACKAGES - {"scripts"}


def ml_modules() -> set[str]:
    return {path.relative_to(REPO_ROOT).as_posix() for path in python_files("ml")}


def foreign(names: set[str]) -> list[str]:
    return sorted(
        name for name in names if name.split("/")[0] in OUR_PACKAGES - {"ml"} or "tests" in name
    )


@pytest.mark.unit
def test_the_code_bundle_carries_all_of_ml_and_nothing_else_of_ours(tmp_path: Path):
    build_code_bundle(tmp_path / "code.tar.gz")
    with tarfile.open(tmp_path / "code.tar.gz") as bundle:
        names = set(bundle.getnames())
    assert ml_modules() <= names
    assert foreign(names) == []
    assert {n for n in names if not n.startswith("ml/")} == {
        "ec2/train_on_boot.sh",
        "requirements.txt",
    }


@pytest.mark.integration
def test_model_archive_carries_all_of_ml_and_nothing_else_of_ours(trained_model, tmp_path: Path):
    archive = build_model_archive(trained_model.model_dir, tmp_path / "model.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    code = {name.removeprefix("code/") for name in names if name.startswith("code/ml/")}
    assert ml_modules() <= code
    assert foreign({name.removeprefix("code/") for name in names}) == []
    assert "code/inference.py" in names
