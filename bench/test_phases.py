"""Where `make test` spends its time: pytest durations summed by test folder.

    .venv/bin/python -m bench.test_phases            # runs the whole suite once

Set-up time (virtual environments) is measured separately, from a fresh clone:
`time make setup`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench.test_phases")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
            ],
            cwd=REPO_ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        phases: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        tree = ElementTree.parse(report)
        suite = next(tree.iter("testsuite"))
        outcome = {
            name: int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")
        }
        for case in tree.iter("testcase"):
            parts = case.get("classname", "").split(".")
            folder = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
            phases[folder] += float(case.get("time", 0))
            counts[folder] += 1
    result = {
        "pytest_wall_s": round(wall, 1),
        "outcome": outcome,
        "by_folder_s": {k: round(v, 1) for k, v in sorted(phases.items())},
        "tests": dict(sorted(counts.items())),
    }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
