"""A sweep of head-only trials over cached backbone features, from one command.

    python -m ml.sweep --trials 6 --feature-cache build/features -- \\
        --data-dir data/dogImages --arch resnet50

Everything after ``--`` is passed to every trial of ``ml.train`` (the data, the architecture,
the weights). The first trial computes the features into ``--feature-cache``; every trial then
trains only the head on them, with a learning rate (log-uniform in ``--lr-range``), a batch
size (from ``--batch-sizes``) and a number of epochs (in ``--epochs-range``) drawn from
``--seed``. Each trial has a folder of its own under ``--out``; the best trial is the one with
the lowest final ``valid_loss``, the objective of the SageMaker tuning jobs too.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
from pathlib import Path

from ml.artifacts import METRICS_FILE
from ml.errors import USAGE_EXIT_STATUS, UserError
from ml.files import atomic_write

logger = logging.getLogger("ml.sweep")


def draw_trials(
    count: int,
    lr_range: tuple[float, float],
    batch_sizes: list[int],
    epochs_range: tuple[int, int],
    seed: int,
) -> list[dict[str, object]]:
    rng = random.Random(seed)
    low, high = math.log(lr_range[0]), math.log(lr_range[1])
    return [
        {
            "lr": float(f"{math.exp(rng.uniform(low, high)):.6g}"),
            "batch-size": rng.choice(batch_sizes),
            "epochs": rng.randint(*epochs_range),
        }
        for _ in range(count)
    ]


def run_trial(number: int, values: dict, train_args: list[str], cache: Path, out: Path) -> dict:
    from ml import train  # torch: imported when a trial runs

    folder = out / f"trial-{number:02d}"
    flags = [f"--{name}={value}" for name, value in values.items()]
    args = train.parse_args(
        [
            "--no-package-int8",  # trials are compared, not served (train_args may say otherwise)
            *train_args,
            "--freeze-backbone",
            "--no-augment",
            "--feature-cache",
            str(cache),
            "--model-dir",
            str(folder / "model"),
            "--checkpoint-dir",
            str(folder / "checkpoints"),
            "--output-data-dir",
            str(folder / "output"),
            "--resume",
            "none",
            *flags,
        ]
    )
    train.main(args)
    metrics = json.loads((folder / "model" / METRICS_FILE).read_text())
    final = metrics["history"][-1]
    return {
        "trial": number,
        **values,
        "valid_loss": final["valid_loss"],
        "valid_accuracy": final["valid_accuracy"],
        "test_accuracy": metrics["test"]["test_accuracy"],
        "model_dir": str(folder / "model"),
    }


def table(results: list[dict]) -> str:
    header = (
        f"{'trial':>5} {'lr':>10} {'batch':>5} {'epochs':>6} {'valid_loss':>10} {'valid_acc':>9}"
    )
    rows = [
        f"{r['trial']:>5} {r['lr']:>10.3g} {r['batch-size']:>5} {r['epochs']:>6} "
        f"{r['valid_loss']:>10.4f} {r['valid_accuracy']:>9.3f}"
        for r in results
    ]
    return "\n".join([header, *rows])


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.sweep",
        description=__doc__.splitlines()[0],
        epilog="Arguments after -- go to every trial of ml.train.",
    )
    parser.add_argument("--trials", type=int, default=6, help="how many trials (default: 6)")
    parser.add_argument(
        "--feature-cache", type=Path, required=True, help="where the features are cached"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build/sweep"), help="trial folders (default: build/sweep)"
    )
    parser.add_argument(
        "--lr-range", type=float, nargs=2, default=[1e-4, 1e-2], metavar=("MIN", "MAX")
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64], metavar="N")
    parser.add_argument("--epochs-range", type=int, nargs=2, default=[2, 8], metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then ml.train options")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = get_parser()
    args = parser.parse_args(argv)
    if args.train_args[:1] == ["--"]:
        args.train_args = args.train_args[1:]
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    if not 0 < args.lr_range[0] < args.lr_range[1]:
        parser.error("--lr-range needs 0 < MIN < MAX")
    if not 1 <= args.epochs_range[0] <= args.epochs_range[1]:
        parser.error("--epochs-range needs 1 <= MIN <= MAX")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    trials = draw_trials(
        args.trials, tuple(args.lr_range), args.batch_sizes, tuple(args.epochs_range), args.seed
    )
    results = []
    try:
        for number, values in enumerate(trials, start=1):
            logger.info("trial %d of %d: %s", number, len(trials), values)
            results.append(run_trial(number, values, args.train_args, args.feature_cache, args.out))
    except UserError as error:
        logger.error("%s", error)
        return USAGE_EXIT_STATUS
    report(results, args.out)
    return 0


def report(results: list[dict], out: Path) -> None:
    """The trials best first, the best one, and results.json in ``out``."""
    results.sort(key=lambda result: result["valid_loss"])
    logger.info("trials, best first:\n%s", table(results))
    best = results[0]
    logger.info(
        "best trial: %d (lr=%s batch-size=%s epochs=%s), valid_loss=%.6f, model in %s",
        best["trial"],
        best["lr"],
        best["batch-size"],
        best["epochs"],
        best["valid_loss"],
        best["model_dir"],
    )
    atomic_write(
        out / "results.json", lambda tmp: tmp.write_text(json.dumps(results, indent=2) + "\n")
    )


if __name__ == "__main__":
    sys.exit(main())
