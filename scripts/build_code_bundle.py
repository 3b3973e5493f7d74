"""Build the training code bundle (build/code.tar.gz) reproducibly.

    python scripts/build_code_bundle.py build/code.tar.gz

Layout: ``ml/*.py`` (the training package), ``ec2/train_on_boot.sh`` and ``requirements.txt``
(from ml/runtime-requirements.txt). Terraform uploads it to ``code/code.tar.gz``; SageMaker jobs
use it as their submit directory with ``ml/train.py`` as the entry point.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ml.files import write_tar_gz  # noqa: E402 (needs the path above)


def bundle_members() -> dict[str, bytes]:
    members = {
        f"ml/{path.name}": path.read_bytes() for path in sorted((REPO_ROOT / "ml").glob("*.py"))
    }
    members["ec2/train_on_boot.sh"] = (REPO_ROOT / "ec2" / "train_on_boot.sh").read_bytes()
    members["requirements.txt"] = (REPO_ROOT / "ml" / "runtime-requirements.txt").read_bytes()
    return members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="bundle to write (.tar.gz)")
    args = parser.parse_args()
    members = bundle_members()
    write_tar_gz(members, args.output, executable=frozenset({"ec2/train_on_boot.sh"}))
    sys.stdout.write(f"wrote {args.output} ({len(members)} files)\n")


if __name__ == "__main__":
    main()
