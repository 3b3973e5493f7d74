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
import hashlib
import logging
import os
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (``python ml/train.py``, as the SageMaker toolkit does): make the package
    # that holds this file importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from ml import distributed
from ml.artifacts import write_model_artifacts
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
    check_same_classes,
    eval_transform,
    scan_split,
    train_transform,
)
from ml.errors import USAGE_EXIT_STATUS, UserError
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


def load_data(args, ctx: distributed.DistributedContext):
    """The three splits, checked against each other, and their loaders."""
    train_set = scan_split(args.train_dir, train_transform(args.image_size), args.skip_corrupt)
    valid_set = scan_split(args.valid_dir, eval_transform(args.image_size), args.skip_corrupt)
    test_set = scan_split(args.test_dir, eval_transform(args.image_size), args.skip_corrupt)
    check_same_classes(train_set, args.train_dir, valid_set, args.valid_dir)
    check_same_classes(train_set, args.train_dir, test_set, args.test_dir)
    pin = torch.cuda.is_available()
    if ctx.enabled:
        # drop_last: shards are disjoint (no padding duplicates); the shuffle changes per epoch.
        train_sampler = DistributedSampler(
            train_set,
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            shuffle=True,
            seed=args.seed,
            drop_last=True,
        )
    else:
        train_sampler = torch.utils.data.RandomSampler(train_set)
    train_loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        sampler=train_sampler,
        num_workers=args.workers,
        pin_memory=pin,
        persistent_workers=args.workers > 0,
    )

    def eval_loader(dataset: ImageSplit) -> DataLoader:
        # Each process evaluates its own slice, unpadded, so summed metrics count every image once.
        shard = range(ctx.rank, len(dataset), ctx.world_size)
        return DataLoader(
            dataset,
            batch_size=args.batch_size,
            sampler=shard,
            num_workers=args.workers,
            pin_memory=pin,
        )

    return train_set, train_loader, train_sampler, eval_loader(valid_set), eval_loader(test_set)


class TrainableModel:
    """The forward pass used for training: full fine-tuning, or a frozen backbone whose
    features are computed without autograd and only the head trained (and synchronised)."""

    def __init__(
        self,
        model: nn.Module,
        frozen: bool,
        ctx: distributed.DistributedContext,
        device: torch.device,
    ):
        self.model = model
        self.frozen = frozen
        self.backbone = backbone_of(model) if frozen else None
        trained = model.fc if frozen else model
        if ctx.enabled:
            device_ids = [device.index] if device.type == "cuda" else None
            trained = DistributedDataParallel(trained, device_ids=device_ids)
        self.trained = trained

    def train(self) -> None:
        self.model.train()
        if self.backbone is not None:
            self.backbone.eval()  # frozen batch-norm statistics

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if self.backbone is None:
            return self.trained(images)
        with torch.inference_mode():
            features = self.backbone(images)
        return self.trained(features.clone())  # a normal tensor again, usable by autograd


def train_one_epoch(
    trainable,
    criterion,
    optimizer,
    loader,
    device,
    epoch,
    args,
    ctx: distributed.DistributedContext,
) -> dict[str, float]:
    trainable.train()
    loss_sum, correct, seen = 0.0, 0, 0
    started = time.perf_counter()
    for step, (images, targets) in enumerate(loader, start=1):
        images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        outputs = trainable(images)
        loss = criterion(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * targets.size(0)
        correct += (outputs.argmax(1) == targets).sum().item()
        seen += targets.size(0)
        if ctx.is_main_process and step % args.log_interval == 0:
            logger.info("epoch %d step %d/%d: loss %.4f", epoch, step, len(loader), loss.item())
    elapsed = time.perf_counter() - started
    loss_sum, correct, seen = distributed.all_reduce_sum([loss_sum, correct, seen], device, ctx)
    if ctx.is_main_process:
        logger.info(
            "epoch %d: %d training images in %.1f s (%.1f images/s over %d processes)",
            epoch,
            seen,
            elapsed,
            seen / elapsed,
            ctx.world_size,
        )
    return {"loss": loss_sum / seen, "accuracy": correct / seen}


def evaluate(
    model: nn.Module, criterion, loader, device, ctx: distributed.DistributedContext
) -> dict[str, float]:
    """Per-sample mean loss and accuracy over the whole split (all processes together)."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    with torch.inference_mode():
        for images, targets in loader:
            images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
            targets = targets.to(device, non_blocking=True)
            outputs = model(images)
            loss_sum += criterion(outputs, targets).item() * targets.size(0)
            correct += (outputs.argmax(1) == targets).sum().item()
            seen += targets.size(0)
    loss_sum, correct, seen = distributed.all_reduce_sum([loss_sum, correct, seen], device, ctx)
    return {"loss": loss_sum / seen, "accuracy": correct / seen}


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
    train_set, train_loader, train_sampler, valid_loader, test_loader = load_data(args, ctx)
    class_names = train_set.class_names
    logger.info("%d classes, %d training images", len(class_names), len(train_set))

    model = build_model(args.arch, len(class_names), args.pretrained, args.backbone_weights)
    if args.freeze_backbone:
        freeze_backbone(model)
    model = model.to(device, memory_format=torch.channels_last)
    trainable = TrainableModel(model, args.freeze_backbone, ctx, device)
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
        if isinstance(train_sampler, DistributedSampler):
            train_sampler.set_epoch(epoch)
        train = train_one_epoch(
            trainable, criterion, optimizer, train_loader, device, epoch, args, ctx
        )
        distributed.average_buffers(model, ctx)
        valid = evaluate(model, criterion, valid_loader, device, ctx)
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

    test = evaluate(model, criterion, test_loader, device, ctx)
    test_metrics = {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
    if ctx.is_main_process:
        logger.info("test metrics: %s", format_metrics(test_metrics))
        config = {"arch": args.arch, "image_size": args.image_size, "num_classes": len(class_names)}
        write_model_artifacts(args.model_dir, model, config, class_names, history, test_metrics)
        if args.include_inference_code:
            write_inference_code(args.model_dir)
        logger.info("model artifacts written to %s", args.model_dir)
    return model


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
