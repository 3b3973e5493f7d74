"""build/lambda.zip: all the function's modules and nothing else, reproducible, importable
from the zip."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.training import REPO_ROOT

pytestmark = pytest.mark.unit

BUILDER = REPO_ROOT / "scripts" / "build_lambda_zip.py"
LAMBDA_DIR = REPO_ROOT / "lambda"


def build(output: Path) -> Path:
    subprocess.run(
        [sys.executable, str(BUILDER), str(LAMBDA_DIR), str(output)],
        check=True,
        capture_output=True,
    )
    return output


def function_modules() -> list[str]:
    return sorted(
        path.relative_to(LAMBDA_DIR).as_posix()
        for path in LAMBDA_DIR.rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_zip_holds_the_function_modules_only(tmp_path: Path):
    with zipfile.ZipFile(build(tmp_path / "lambda.zip")) as archive:
        assert archive.namelist() == function_modules()
        assert {"lambda_function.py", "invoker/__init__.py"} <= set(archive.namelist())
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_zip_is_reproducible(tmp_path: Path):
    assert build(tmp_path / "a.zip").read_bytes() == build(tmp_path / "b.zip").read_bytes()


def test_handler_imports_from_the_zip_alone(tmp_path: Path):
    archive = build(tmp_path / "lambda.zip")
    script = (
        f"import sys; sys.path.insert(0, {str(archive)!r}); import lambda_function; "
        "print(callable(lambda_function.lambda_handler))"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", "ENDPOINT_NAME": "e", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
