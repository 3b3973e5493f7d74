"""The training code bundle: what a job's ``sagemaker_submit_directory`` and the EC2 instance run.

Layout: ``ml/`` (the whole package that runs on training hosts), ``ec2/train_on_boot.sh``
and ``requirements.txt`` (from ml/runtime-requirements.txt). The archive is reproducible, so
the same sources give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from ml.files import package_files, write_tar_gz

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOT_SCRIPT = "ec2/train_on_boot.sh"


def bundle_members(repo_root: Path = REPO_ROOT) -> dict[str, bytes]:
    members = package_files(repo_root / "ml", "ml")
    members[BOOT_SCRIPT] = (repo_root / BOOT_SCRIPT).read_bytes()
    members["requirements.txt"] = (repo_root / "ml" / "runtime-requirements.txt").read_bytes()
    return members


def build_code_bundle(output: Path, repo_root: Path = REPO_ROOT) -> int:
    """Write the bundle to ``output``; returns the number of files in it."""
    members = bundle_members(repo_root)
    write_tar_gz(members, output, executable=frozenset({BOOT_SCRIPT}))
    return len(members)
