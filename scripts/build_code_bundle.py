"""Build the training code bundle (build/code.tar.gz) reproducibly.

    python scripts/build_code_bundle.py build/code.tar.gz

Terraform uploads it to ``code/code.tar.gz`` for the EC2 instance; ``python -m mlops``
uploads its own copy per job. Layout: see ``mlops/bundle.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops.bundle import build_code_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="bundle to write (.tar.gz)")
    args = parser.parse_args()
    count = build_code_bundle(args.output)
    sys.stdout.write(f"wrote {args.output} ({count} files)\n")


if __name__ == "__main__":
    main()
