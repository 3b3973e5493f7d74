"""Head-only training on cached backbone features against today's uncached path, in one run.

    .venv/bin/python -m bench.feature_cache [--trials 6]

On the same generated images (5 breeds, 20 training images each, 256 px; ResNet50 at 224 px,
batch 16, 2 threads; the backbone frozen, random weights standing in for ImageNet's, which
cannot be downloaded here and cost the same to run):

- one 5-epoch run uncached with augmentation (today's default) against one 5-epoch run on the
  feature cache (its computation included);
- a sweep of ``--trials`` head-only trials (``ml.sweep``, features computed once) against the
  same trials run one by one uncached, each with its drawn epochs;
- the test accuracy of each.

One JSON line with the wall times, their ratios and the accuracies.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_stack.demo.sample_data import generate
from ml.sweep import draw_trials

logger = logging.getLogger("bench.feature_cache")
REPO_ROOT = Path(__file__).resolve().parent.parent
COMMON = ["--arch", "resnet50", "--no-pretrained", "--freeze-backbone", "--image-size", "224"]
COMMON += ["--batch-size", "16", "--workers", "0", "--resume", "none"]


def run(module: str, args: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(REPO_ROOT)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def test_accuracy(model_dir: Path) -> float:
    return json.loads((model_dir / "metrics.json").read_text())["test"]["test_accuracy"]


def folders(root: Path, name: str) -> list[str]:
    return [
        "--model-dir",
        str(root / name / "model"),
        "--checkpoint-dir",
        str(root / name / "ckpt"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate(root / "data", classes=5, per_class=20, eval_per_class=5, size=256, seed=0)
        base = [*COMMON, "--data-dir", str(data)]
        uncached_s = run("ml.train", [*base, "--epochs", "5", *folders(root, "uncached")])
        cached_s = run(
            "ml.train",
            [
                *base,
                "--epochs",
                "5",
                "--no-augment",
                "--feature-cache",
                str(root / "cache-5"),
                *folders(root, "cached"),
            ],
        )
        trials = draw_trials(args.trials, (1e-4, 1e-2), [16, 32, 64], (2, 8), seed=0)
        sweep_s = run(
            "ml.sweep",
            [
                "--trials",
                str(args.trials),
                "--feature-cache",
                str(root / "cache-sweep"),
                "--out",
                str(root / "sweep"),
                "--",
                *[a for a in base if a != "--freeze-backbone"],
            ],
        )
        one_by_one_s = sum(
            run(
                "ml.train",
                [*base, *[f"--{k}={v}" for k, v in trial.items()], *folders(root, f"trial-{i}")],
            )
            for i, trial in enumerate(trials)
        )
        sweep_best = json.loads((root / "sweep" / "results.json").read_text())[0]
        result = {
            "epochs": 5,
            "uncached_s": round(uncached_s, 1),
            "cached_s": round(cached_s, 1),
            "speedup": round(uncached_s / cached_s, 2),
            "uncached_test_accuracy": test_accuracy(root / "uncached" / "model"),
            "cached_test_accuracy": test_accuracy(root / "cached" / "model"),
            "trials": args.trials,
            "trial_epochs": [t["epochs"] for t in trials],
            "sweep_s": round(sweep_s, 1),
            "one_by_one_uncached_s": round(one_by_one_s, 1),
            "sweep_speedup": round(one_by_one_s / sweep_s, 2),
            "sweep_best_test_accuracy": sweep_best["test_accuracy"],
        }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
