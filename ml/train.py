"""Train the dog-breed classifier: one entry point for local, EC2 and SageMaker runs.

The same file serves SageMaker training jobs (1..N instances), hyperparameter tuning jobs,
the EC2 boot-time script and a laptop. Paths default to the SageMaker conventions
(``SM_CHANNEL_TRAIN``, ``SM_MODEL_DIR``, ...) and fall back to local folders elsewhere.

    python -m ml.train --data-dir data/dogImages --arch resnet18 --epochs 3
    torchrun --standalone --nproc_per_node 2 -m ml.train ...   # distributed data parallel

Metric lines and their regexes are documented in ``ml/metrics.py``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import logging
import os
import random
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (``python ml/train.py``, as the SageMaker toolkit does): make the package
    # that holds this file importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from ml import distributed
from ml.artifacts import write_metrics, write_model_artifacts
from ml.checkpoint import (
    check_same_run,
    find_resume_path,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from ml.data import (
    ImageSplit,
    breed_name,
    check_same_classes,
    eval_transform,
    scan_split,
    train_transform,
)
from ml.engine import (
    HeadOnly,
    Loaders,
    TrainableModel,
    evaluate,
    make_loaders,
    train_one_epoch,
)
from ml.errors import USAGE_EXIT_STATUS, UserError
from ml.features import SPLITS, class_dirs_of, load_or_compute, weights_fingerprint
from ml.files import atomic_write
from ml.metrics import format_metrics
from ml.model import ARCHITECTURES, backbone_of, build_model, freeze_backbone
from ml.package import write_inference_code

logger = logging.getLogger("ml.train")

ON_SAGEMAKER = "SM_TRAINING_ENV" in os.environ


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
    a run never meets the checkpoint of a differently shaped one."""
    if ON_SAGEMAKER:
        return Path("/opt/ml/checkpoints", os.environ.get("TRAINING_JOB_NAME", ""))
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
    env = os.environ.get
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("DATA_DIR", "data/dogImages")),
        help="folder with train/, valid/, test/ (used for channels not given)",
    )
    for split in ("train", "valid", "test"):
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
    features_channel = env("SM_CHANNEL_FEATURES")
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
        "compute the --feature-cache and stop, without training (what a features job does)",
    )
    parser.add_argument(
        "--features-s3-uri",
        default=None,
        help="with --features-only: upload the cache to this s3://bucket/prefix/ when done",
    )
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
        False,
        "also write an int8 model for CPU endpoints (calibrated on the valid split, checked on "
        "the test split)",
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
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options; on SageMaker unknown ones are only warned about (the platform may add its
    own), elsewhere a typo is an error."""
    parser = get_args_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not ON_SAGEMAKER:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        logger.warning("ignoring unknown arguments: %s", " ".join(unknown))
    for split in ("train", "valid", "test"):
        if getattr(args, f"{split}_dir") is None:
            setattr(args, f"{split}_dir", args.data_dir / split)
    if args.checkpoint_dir is None:
        args.checkpoint_dir = default_checkpoint_dir(args)
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
    return args


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_splits(args) -> dict[str, ImageSplit | None]:
    """The three splits, checked against each other. With a feature cache and no images at
    all (a SageMaker trial given only the cache), every split is None."""
    if args.feature_cache is not None and not any(
        getattr(args, f"{split}_dir").exists() for split in SPLITS
    ):
        return dict.fromkeys(SPLITS)
    augment = train_transform if args.augment else eval_transform
    splits = {
        split: scan_split(
            getattr(args, f"{split}_dir"),
            (augment if split == "train" else eval_transform)(args.image_size),
            args.skip_corrupt,
        )
        for split in SPLITS
    }
    for split in ("valid", "test"):
        check_same_classes(
            splits["train"], args.train_dir, splits[split], getattr(args, f"{split}_dir")
        )
    return splits


def image_pipeline(args, model, splits, device, ctx) -> tuple[object, nn.Module, Loaders]:
    """Training on images: the trainable network, the module evaluation runs, the loaders."""
    trainable = TrainableModel(model, args.freeze_backbone, ctx, device)
    loaders = make_loaders(
        splits["train"],
        splits["valid"],
        splits["test"],
        args.batch_size,
        args.workers,
        args.seed,
        ctx,
    )
    return trainable, model, loaders


def feature_pipeline(args, model, splits, device, ctx) -> tuple[object, nn.Module, Loaders]:
    """Training the head on cached backbone features: computed once, or read from the cache."""
    backbone = backbone_of(model)
    weights = weights_fingerprint(backbone)
    datasets = [
        load_or_compute(
            split,
            splits[split],
            getattr(args, f"{split}_dir"),
            args.feature_cache,
            backbone,
            args.arch,
            args.image_size,
            device,
            args.batch_size,
            args.workers,
            ctx,
            weights,
        )
        for split in SPLITS
    ]
    loaders = make_loaders(*datasets, args.batch_size, 0, args.seed, ctx)
    return HeadOnly(model.fc, ctx, device), model.fc, loaders


def main(args: argparse.Namespace) -> nn.Module:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ctx = distributed.init_distributed(device.type)
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    try:
        return _train(args, device, ctx)
    finally:
        distributed.cleanup(ctx)


def _train(args, device: torch.device, ctx: distributed.DistributedContext) -> nn.Module:
    seed_everything(args.seed)
    logger.info("training on %s, process %d of %d", device, ctx.rank + 1, ctx.world_size)
    splits = load_splits(args)
    class_dirs = (
        splits["train"].class_dirs
        if splits["train"] is not None
        else class_dirs_of(args.feature_cache)
    )
    class_names = [breed_name(name) for name in class_dirs]
    logger.info("%d classes", len(class_names))

    model = build_model(args.arch, len(class_names), args.pretrained, args.backbone_weights)
    if args.freeze_backbone:
        freeze_backbone(model)
    model = model.to(device, memory_format=torch.channels_last)
    pipeline = feature_pipeline if args.feature_cache is not None else image_pipeline
    trainable, evaluated, loaders = pipeline(args, model, splits, device, ctx)
    if args.features_only:
        if ctx.is_main_process and args.features_s3_uri:
            from ml.s3_transfer import upload_dir  # boto3: only a features job needs it

            upload_dir(args.feature_cache, args.features_s3_uri)
        logger.info("features computed into %s; --features-only: not training", args.feature_cache)
        return model
    logger.info("%d training images", len(loaders.train.dataset))
    parameters = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            parameters, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
        )
    else:
        optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    criterion = nn.CrossEntropyLoss()

    start_epoch, history = 1, []
    resume_path = find_resume_path(args.resume, args.checkpoint_dir)
    if resume_path is not None:
        checkpoint = load_checkpoint(resume_path)
        check_same_run(checkpoint, resume_path, args, class_names)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        restore_rng_state(checkpoint["rng"])
        start_epoch, history = checkpoint["epoch"] + 1, checkpoint["history"]
        if start_epoch > args.epochs:
            logger.info(
                "%s holds all %d epochs already: nothing left to train, evaluating and writing "
                "the model (pass --resume none to train again)",
                resume_path,
                checkpoint["epoch"],
            )
        else:
            logger.info(
                "resuming from %s: epoch %d done, continuing at epoch %d",
                resume_path,
                checkpoint["epoch"],
                start_epoch,
            )

    for epoch in range(start_epoch, args.epochs + 1):
        if isinstance(loaders.train_sampler, DistributedSampler):
            loaders.train_sampler.set_epoch(epoch)
        train = train_one_epoch(
            trainable, criterion, optimizer, loaders.train, device, epoch, args, ctx
        )
        distributed.average_buffers(model, ctx)
        valid = evaluate(evaluated, criterion, loaders.valid, device, ctx)
        scheduler.step()
        row = {
            "epoch": epoch,
            "train_loss": train["loss"],
            "train_accuracy": train["accuracy"],
            "valid_loss": valid["loss"],
            "valid_accuracy": valid["accuracy"],
        }
        history.append(row)
        if ctx.is_main_process:
            logger.info(
                "epoch %d/%d metrics: %s",
                epoch,
                args.epochs,
                format_metrics({k: v for k, v in row.items() if k != "epoch"}),
            )
            save_checkpoint(
                args.checkpoint_dir,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch,
                    "args": {
                        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                    },
                    "rng": rng_state(),
                    "history": history,
                    "class_names": class_names,
                },
            )
        distributed.barrier(ctx)

    test = evaluate(evaluated, criterion, loaders.test, device, ctx)
    test_metrics = {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
    if ctx.is_main_process:
        logger.info("test metrics: %s", format_metrics(test_metrics))
        config = {"arch": args.arch, "image_size": args.image_size, "num_classes": len(class_names)}
        write_model_artifacts(args.model_dir, model, config, class_names, history, test_metrics)
        # SageMaker uploads this folder beside the model (output.tar.gz): what a reviewer of
        # the registered model reads its metrics from (python -m mlops register).
        write_metrics(args.output_data_dir, history, test_metrics)
        if args.package_int8:
            write_int8_model(args, model)
        if args.include_inference_code:
            write_inference_code(args.model_dir)
        logger.info("model artifacts written to %s", args.model_dir)
    # Every process leaves together. Besides waiting for the model, this keeps torch < 2.8
    # from hanging on exit: its gloo process group, destroyed while a worker thread still
    # releases the tensors of the last all_reduce, deadlocks on the GIL (pytorch#154976),
    # which one two-process run in four hit here on the SageMaker 2.6 training container's torch.
    distributed.barrier(ctx)
    return model


def write_int8_model(args, model: nn.Module) -> None:
    """The int8 model beside the fp32 one, when it agrees with it enough; otherwise a warning
    and fp32 only (a finished training run is not thrown away for its int8 copy)."""
    from ml.quantize import INT8_WEIGHTS_FILE, QuantizationRefusedError, quantize_checked

    try:
        report = quantize_checked(
            copy.deepcopy(model).float(),
            args.image_size,
            args.valid_dir,
            args.test_dir,
            args.min_int8_agreement,
        )
    except QuantizationRefusedError as error:
        logger.warning("%s", error)
        return
    atomic_write(args.model_dir / INT8_WEIGHTS_FILE, lambda tmp: tmp.write_bytes(report.state))


def configure_logging() -> None:
    # stdout: SageMaker ships it to CloudWatch and matches metric regexes against it.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("matplotlib").setLevel(logging.WARNING)


if __name__ == "__main__":
    configure_logging()
    try:
        main(parse_args())
    except UserError as error:
        logger.error("%s", error)
        raise SystemExit(USAGE_EXIT_STATUS) from None
