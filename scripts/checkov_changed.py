"""Run checkov on the Terraform modules that the given files belong to (the pre-commit hook).

    python scripts/checkov_changed.py terraform/modules/http_api/main.tf terraform/main.tf

A file under ``terraform/modules/NAME/`` scans that module, one under another folder of
``terraform/`` (``bootstrap/``) that folder; any other file under ``terraform/`` scans the
root module and everything below it, as the test suite does. The flags are
``tests/terraform/test_checkov.py``'s; the exit status is the first failing run's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ROOT_MODULE = Path("terraform")
CHECKOV = REPO_ROOT / ".venv-iac" / "bin" / "checkov"
FLAGS = ("--framework", "terraform", "--quiet", "--compact", "--skip-path", "tests")


def module_of(path: Path) -> Path | None:
    """The module directory (relative to the repository) that ``path`` belongs to."""
    parts = path.parts
    if parts[:1] != ROOT_MODULE.parts:
        return None
    if len(parts) > 3 and parts[1] == "modules":
        return Path(*parts[:3])
    if len(parts) > 2 and parts[1] not in ("modules", "tests"):
        return Path(*parts[:2])  # a root module of its own, such as bootstrap/
    return ROOT_MODULE


def directories(paths: list[Path]) -> list[Path]:
    """The directories to scan: the root module covers every module it calls."""
    found = {module for path in paths if (module := module_of(path)) is not None}
    return [ROOT_MODULE] if ROOT_MODULE in found else sorted(found)


def relative(path: str) -> Path:
    absolute = Path(path).resolve()
    return absolute.relative_to(REPO_ROOT) if absolute.is_relative_to(REPO_ROOT) else absolute


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="changed files (pre-commit passes them)")
    parser.add_argument("--checkov", type=Path, default=CHECKOV, help="the checkov executable")
    args = parser.parse_args()
    scan = directories([relative(name) for name in args.files])
    if not scan:
        return 0
    if not args.checkov.exists():
        sys.stderr.write(f"{args.checkov} is missing: run `make setup` (it lives in .venv-iac)\n")
        return 2
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    status = 0
    # One run per directory: checkov 3.3 given several --directory flags scans only the first.
    for directory in scan:
        command = [str(args.checkov), "--directory", str(directory), *FLAGS]
        result = subprocess.run(command, cwd=REPO_ROOT, env=environment, check=False)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
