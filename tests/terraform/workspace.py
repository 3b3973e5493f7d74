"""A scratch copy of the Terraform configuration with the artifacts it reads, so tests never
write .terraform/ folders, lock files or state into the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.training import REPO_ROOT

MODULES = sorted(p.name for p in (REPO_ROOT / "terraform" / "modules").iterdir() if p.is_dir())


def build_artifacts(build_dir: Path) -> None:
    """The Lambda zip and the code bundle, as `make package-lambda package-code` builds them."""
    scripts = REPO_ROOT / "scripts"
    subprocess.run(
        [
            sys.executable,
            str(scripts / "build_lambda_zip.py"),
            str(REPO_ROOT / "lambda"),
            str(build_dir / "lambda.zip"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, str(scripts / "build_code_bundle.py"), str(build_dir / "code.tar.gz")],
        check=True,
        capture_output=True,
    )


def make_workspace(root: Path) -> Path:
    """Copy terraform/ and ec2/ (the user-data template) and build ../build artifacts."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf")
    shutil.copytree(REPO_ROOT / "terraform", root / "terraform", ignore=ignore)
    shutil.copytree(REPO_ROOT / "ec2", root / "ec2")
    build_artifacts(root / "build")
    return root / "terraform"
