"""CPU of Terraform and its AWS provider by Go's garbage-collection target (GOGC): `terraform
test` of one module (plan runs against the mocked provider, each starting the provider twice),
as `make test` runs it; the rounds of each setting alternate, and the median is kept.

    .venv/bin/python -m bench.terraform_gc [--module sagemaker_endpoint] [--rounds 3]

Run it beside `make tf-config` (TF_CLI_CONFIG_FILE names the provider mirror, as `make` sets).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from local_stack.demo.terraform import MODULES, Terraform
from local_stack.paths import REPO_ROOT

GO_DEFAULT = "100"  # what Go uses when GOGC is unset
SETTINGS = (GO_DEFAULT, "200", "400", "800")


def terraform_test(folder: Path, gogc: str) -> dict[str, float]:
    """One `terraform test` in ``folder``: its wall time, and the CPU and largest resident set
    of terraform and every provider it started (the rusage wait4 gives for the process tree)."""
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "GOGC": gogc}
    started = time.perf_counter()
    process = subprocess.Popen(
        [shutil.which("terraform"), "test", "-no-color"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"terraform test failed in {folder} with GOGC={gogc}")
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="sagemaker_endpoint", choices=MODULES)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / args.module
        shutil.copytree(
            REPO_ROOT / "terraform" / "modules" / args.module,
            folder,
            ignore=shutil.ignore_patterns(".terraform*"),
        )
        Terraform(folder).run("init", "-backend=false", "-input=false", "-no-color")
        runs: dict[str, list[dict[str, float]]] = {gogc: [] for gogc in SETTINGS}
        for _ in range(args.rounds):
            for gogc in SETTINGS:
                runs[gogc].append(terraform_test(folder, gogc))
    baseline = statistics.median(run["cpu_s"] for run in runs[GO_DEFAULT])
    for gogc, measured in runs.items():
        medians = {key: statistics.median(run[key] for run in measured) for key in measured[0]}
        print(
            json.dumps(
                {
                    "module": args.module,
                    "gogc": gogc,
                    **{key: round(value, 1) for key, value in medians.items()},
                    "cpu_vs_go_default": round(medians["cpu_s"] / baseline, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
