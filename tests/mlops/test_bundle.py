"""build/code.tar.gz (make package-code): what the instance and SageMaker jobs run."""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.training import REPO_ROOT

pytestmark = pytest.mark.unit

BUILDER = REPO_ROOT / "scripts" / "build_code_bundle.py"


def build(output: Path) -> Path:
    subprocess.run([sys.executable, str(BUILDER), str(output)], check=True, capture_output=True)
    return output


def test_bundle_holds_the_package_the_boot_script_and_requirements(tmp_path: Path):
    with tarfile.open(build(tmp_path / "code.tar.gz")) as bundle:
        members = {m.name: m for m in bundle.getmembers()}
    assert {
        "ml/train.py",
        "ml/package.py",
        "ml/s3_transfer.py",
        "ml/inference.py",
        "ec2/train_on_boot.sh",
        "requirements.txt",
    } <= set(members)
    assert not [name for name in members if "__pycache__" in name or name.startswith("tests")]
    assert members["ec2/train_on_boot.sh"].mode == 0o755


def test_bundle_is_reproducible(tmp_path: Path):
    assert build(tmp_path / "a.tar.gz").read_bytes() == build(tmp_path / "b.tar.gz").read_bytes()


def test_boot_script_is_strict_bash():
    script = (REPO_ROOT / "ec2" / "train_on_boot.sh").read_text()
    assert "set -euo pipefail" in script
    assert (
        subprocess.run(
            ["bash", "-n", str(REPO_ROOT / "ec2" / "train_on_boot.sh")], check=False
        ).returncode
        == 0
    )


def test_runtime_requirements_are_pinned_to_the_tested_versions():
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if line)

    runtime = REPO_ROOT / "ml" / "runtime-requirements.txt"
    assert all("==" in line for line in runtime.read_text().splitlines() if line[:1].isalpha())
    tested = pins(REPO_ROOT / "requirements.txt")
    for name, version in pins(runtime).items():
        assert tested.get(name) == version, f"{name}=={version} is not what the tests run"
