"""The layout's rules: each top-level package is one concern, and what ships is exactly ml/.

- ``ml/`` runs on training hosts and in the endpoint: it imports the standard library, the
  frameworks those hosts provide and itself; never the operator CLI, the local stack or tests;
- the Lambda imports the standard library, boto3 and its own modules;
- each part of ours imports only the parts ``BOUNDARIES`` lets it (the READMEs' "may import"),
  and our modules' imports form no cycle;
- nothing outside ``tests/`` imports ``tests``;
- no function in the code we run is longer than ``LONGEST_FUNCTION`` lines;
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

OUR_PACKAGES = {"ml", "mlops", "local_stack", "iam_policies", "tests", "bench", "scripts"}
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
LAMBDA_OWN_MODULES = {"invoker", "lambda_function", "monitor", "monitor_function"}


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


# Which of our modules each part may import, by dotted prefix, besides its own. The first
# prefix that names a module decides (so a subpackage's rule overrides its package's).
BOUNDARIES = {
    "ml": set(),
    "mlops": {"ml"},
    "local_stack.emulator": {"local_stack.ports", "local_stack.http_api"},
    "local_stack.serving": {
        "local_stack.ports",
        "local_stack.http_api",
        "local_stack.environment",
        "local_stack.paths",
        "lambda_function",  # the Lambda, imported as its runtime does
    },
    "local_stack.demo": {"local_stack", "ml", "mlops"},
    "local_stack.parity": {"local_stack.paths", "local_stack.lean_install"},
    # ports, environment, paths, lean_install, http_api: the standard library only
    "local_stack": set(),
    "iam_policies": {"local_stack.emulator.recorder"},
    "bench": {"ml", "mlops", "local_stack", "monitor"},
    "scripts": {"ml.files", "mlops.bundle"},
    "invoker": set(),
    "lambda_function": {"invoker"},
    # The monitor reads captured photos' headers as the invoker checks them.
    "monitor": {"invoker.images", "invoker.errors"},
    "monitor_function": {"monitor"},
}
LAMBDA_ROOT = REPO_ROOT / "lambda"


def module_name(path: Path) -> str:
    """``local_stack/emulator/server.py`` -> ``local_stack.emulator.server``; the Lambda's
    folder is its own import root."""
    root = LAMBDA_ROOT if path.is_relative_to(LAMBDA_ROOT) else REPO_ROOT
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    folders = ("ml", "mlops", "local_stack", "iam_policies", "bench", "scripts", "lambda")
    return {module_name(path): path for folder in folders for path in python_files(folder)}


def imported_modules(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules ``path`` imports, anywhere in the file: ``from package import name`` is
    the module ``package.name`` when there is one, else ``package``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def part_of(module: str) -> str:
    return next(
        part
        for part in sorted(BOUNDARIES, key=len, reverse=True)
        if module == part or module.startswith(part + ".")
    )


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imported_modules(path, modules) - {name} for name, path in modules.items()}


def within(module: str, prefixes: set[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.unit
def test_every_part_imports_only_what_its_readme_allows():
    graph = import_graph()
    assert {part_of(name) for name in graph} == set(BOUNDARIES)  # no rule without a module
    crossings = {
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        if not within(target, {part_of(name)} | BOUNDARIES[part_of(name)])
    }
    assert sorted(crossings) == []


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as the path around it, or [] when there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for target in sorted(graph.get(node, ())):
            if cycle := visit(target, [*path, node]):
                return cycle
        done.add(node)
        return []

    return next((cycle for node in sorted(graph) if (cycle := visit(node, []))), [])


@pytest.mark.unit
def test_our_imports_form_no_cycle():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) == []
    assert " -> ".join(cycle_in(import_graph())) == ""


# The folders whose functions a newcomer must be able to hold in their head, and the limit.
LONGEST_FUNCTION = 60
FUNCTION_FOLDERS = ("ml", "mlops", "lambda", "local_stack", "iam_policies", "scripts")
LONG_FUNCTIONS_ALLOWED: set[str] = set()  # none today: name one here with the reason


def function_lengths(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        f"{path.relative_to(REPO_ROOT)}:{node.name}": node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.unit
def test_no_function_is_longer_than_a_newcomer_can_hold():
    lengths = {
        name: length
        for folder in FUNCTION_FOLDERS
        for path in python_files(folder)
        for name, length in function_lengths(path).items()
    }
    assert set(lengths) >= LONG_FUNCTIONS_ALLOWED, "an exemption names no function"
    too_long = {
        name: length
        for name, length in lengths.items()
        if length > LONGEST_FUNCTION and name not in LONG_FUNCTIONS_ALLOWED
    }
    assert too_long == {}, f"split these into named steps (at most {LONGEST_FUNCTION} lines)"
