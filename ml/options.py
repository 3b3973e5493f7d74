"""The options of ``ml/train.py``: one parser for SageMaker jobs, EC2 and laptops.

Hyperparameters arrive as command-line flags on SageMaker (``--lr 0.001``, booleans as
``--freeze-backbone false``), paths default to the SageMaker conventions (``SM_CHANNEL_TRAIN``,
``SM_MODEL_DIR``...) with local fallbacks, and what cannot go together is refused at once.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from pathlib import Path

from ml.model import ARCHITECTURES

logger = logging.getLogger("ml.train")

ON_SAGEMAKER = "SM_TRAINING_ENV" in os.environ
SPLITS = ("train", "valid", "test")


def str_to_bool(value: str | bool) -> bool:
    """Booleans as SageMaker passes hyperparameters: strings such as "true" or "False"."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "y", "on"}:
        return True
    if lowered in {"false", "0", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false), got {value!r}")


class DefaultsShown(argparse.HelpFormatter):
    """Help that ends with the default, unless the help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def add_bool_flag(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    """``--name``, ``--name false`` (SageMaker style) and ``--no-name`` all work."""
    help = f"{help} (default: {default}; --no-{name} for false)"
    dest = name.replace("-", "_")
    parser.add_argument(
        f"--{name}",
        dest=dest,
        type=str_to_bool,
        nargs="?",
        const=True,
        default=default,
        help=help,
    )
    parser.add_argument(f"--no-{name}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def default_checkpoint_dir(args: argparse.Namespace) -> Path:
    """On SageMaker a folder per job: trials of a tuning job share one checkpoint S3 prefix,
    and the job's own folder keeps a trial from resuming another's while a spot restart (same
    job) finds its own. Elsewhere a folder per run configuration under build/checkpoints, so
    a run never meets the checkpoint of a differently shaped one. (``SAGEMAKER_BASE_DIR`` is
    the training toolkit's stand-in for /opt/ml, which the emulator's local mode sets.)"""
    if ON_SAGEMAKER:
        base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
        return Path(base, "checkpoints", os.environ.get("TRAINING_JOB_NAME", ""))
    data = hashlib.sha256(str(args.train_dir.resolve()).encode()).hexdigest()[:8]
    head = "head" if args.freeze_backbone else "full"
    return Path(
        "build/checkpoints", f"{args.arch}-{head}-{args.image_size}px-{args.optimizer}-{data}"
    )


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.train",
        description="Train a ResNet dog-breed classifier.",
        formatter_class=DefaultsShown,
        # No prefixes: "--model /x" must not pass for --model-dir, which the boot script and
        # SageMaker set and Terraform refuses to take from hyperparameters.
        allow_abbrev=False,
    )
    add_location_options(parser)
    add_model_options(parser)
    add_feature_cache_options(parser)
    add_optimization_options(parser)
    add_output_options(parser)
    return parser


def add_location_options(parser: argparse.ArgumentParser) -> None:
    """Where the data, the model, the other outputs and the checkpoints are."""
    env = os.environ.get
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("DATA_DIR", "data/dogImages")),
        help="folder with train/, valid/, test/ (used for channels not given)",
    )
    for split in SPLITS:
        channel = env(f"SM_CHANNEL_{split.upper()}")
        parser.add_argument(
            f"--{split}-dir",
            type=Path,
            default=Path(channel) if channel else None,
            help=f"{split} split folder (default: $SM_CHANNEL_{split.upper()} or DATA_DIR/{split})",
        )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(env("SM_MODEL_DIR", "build/model")),
        help="where the final model artifacts go (default: $SM_MODEL_DIR, else build/model)",
    )
    parser.add_argument(
        "--output-data-dir",
        type=Path,
        default=Path(env("SM_OUTPUT_DATA_DIR", "build/output")),
        help="where extra outputs go (default: $SM_OUTPUT_DATA_DIR, else build/output)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="checkpoint folder (default: on SageMaker a folder named after the job under "
        "/opt/ml/checkpoints, which SageMaker syncs to S3 for spot training; elsewhere "
        "build/checkpoints/ARCH-HEAD-SIZEpx-OPTIMIZER-DATA, one per run configuration)",
    )
    parser.add_argument(
        "--resume",
        default="auto",
        help="'auto': continue from the checkpoint in --checkpoint-dir if present; "
        "'none': start fresh; or a checkpoint file path",
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The network, its starting weights, and what of it trains on what."""
    parser.add_argument(
        "--arch", default="resnet50", choices=sorted(ARCHITECTURES), help="ResNet architecture"
    )
    add_bool_flag(
        parser, "pretrained", True, "start from torchvision's ImageNet weights (downloaded once)"
    )
    parser.add_argument(
        "--backbone-weights",
        type=Path,
        default=None,
        help="local ImageNet state dict for the backbone, instead of --pretrained",
    )
    add_bool_flag(parser, "freeze-backbone", True, "train only the classification head")
    add_bool_flag(
        parser,
        "augment",
        True,
        "random crops and flips of training images; off, training sees the evaluation "
        "preprocessing, which is what lets --feature-cache work",
    )


def add_feature_cache_options(parser: argparse.ArgumentParser) -> None:
    """Head-only training on backbone features computed once."""
    features_channel = os.environ.get("SM_CHANNEL_FEATURES")
    parser.add_argument(
        "--feature-cache",
        type=Path,
        default=Path(features_channel) if features_channel else None,
        help="folder of cached backbone features: computed there once, then only the head "
        "trains on them (needs --freeze-backbone and --no-augment; default: "
        "$SM_CHANNEL_FEATURES, else no cache)",
    )
    add_bool_flag(
        parser,
        "features-only",
        False,
        "compute the --feature-cache and stop, without training (what a features job does; "
        "on SageMaker the cache defaults to /opt/ml/features)",
    )
    parser.add_argument(
        "--features-s3-uri",
        default=None,
        help="with --features-only: upload the cache to this s3://bucket/prefix/ when done",
    )


def add_optimization_options(parser: argparse.ArgumentParser) -> None:
    """The hyperparameters a tuning job searches, and the rest of the training loop's."""
    parser.add_argument("--epochs", type=int, default=5, help="number of epochs")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch per process")
    parser.add_argument("--lr", type=float, default=1e-3, help="initial learning rate")
    parser.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"], help="optimizer")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="weight decay")
    parser.add_argument("--image-size", type=int, default=224, help="training crop size in pixels")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="data loading worker processes",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    add_bool_flag(parser, "skip-corrupt", False, "leave unreadable images out instead of failing")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """What goes into the model dir besides the weights, and how often progress is logged."""
    add_bool_flag(
        parser,
        "include-inference-code",
        ON_SAGEMAKER,
        "also write code/inference.py into the model dir, so that SageMaker's model.tar.gz "
        "of it is deployable as it is",
    )
    add_bool_flag(
        parser,
        "package-int8",
        True,
        "also write an int8 model, which x86 CPU endpoints serve (calibrated on the valid "
        "split; left out with a warning when it agrees with fp32 on too little of the test "
        "split; GPU endpoints serve fp32 from the same archive)",
    )
    parser.add_argument(
        "--min-int8-agreement",
        type=float,
        default=0.99,
        help="top-1 agreement with fp32 that --package-int8 requires on the test split",
    )
    parser.add_argument(
        "--log-interval", type=int, default=20, help="batches between progress lines"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options; on SageMaker unknown ones are only warned about (the platform may add its
    own), elsewhere a typo is an error."""
    parser = get_args_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not ON_SAGEMAKER:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        logger.warning("ignoring unknown arguments: %s", " ".join(unknown))
    for split in SPLITS:
        if getattr(args, f"{split}_dir") is None:
            setattr(args, f"{split}_dir", args.data_dir / split)
    if args.checkpoint_dir is None:
        args.checkpoint_dir = default_checkpoint_dir(args)
    if args.features_only and args.feature_cache is None and ON_SAGEMAKER:
        # A features job computes its cache on the instance's disk before uploading it.
        args.feature_cache = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"), "features")
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (``parser.error``) options that cannot go together; settle the ones that
    override others."""
    for name in ("epochs", "batch_size", "image_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.lr <= 0:
        parser.error("--lr must be positive")
    if args.pretrained and args.backbone_weights is not None:
        logger.info(
            "--backbone-weights %s given: not downloading ImageNet weights", args.backbone_weights
        )
        args.pretrained = False
    if args.features_only and args.feature_cache is None:
        parser.error("--features-only needs --feature-cache (where to compute the features)")
    if args.features_s3_uri is not None and not args.features_only:
        parser.error("--features-s3-uri goes with --features-only")
    if args.feature_cache is not None and (args.augment or not args.freeze_backbone):
        parser.error(
            "--feature-cache needs --freeze-backbone and --no-augment: augmented images, or a "
            "backbone that trains, give new features every epoch"
        )
    if args.freeze_backbone and not args.pretrained and args.backbone_weights is None:
        logger.warning(
            "the backbone is frozen but randomly initialised (--no-pretrained, no "
            "--backbone-weights): only a head on random features will train. Pass "
            "--no-freeze-backbone to train the whole network"
        )
