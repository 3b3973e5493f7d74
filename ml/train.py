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
import logging
import random
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

if __package__ in (None, ""):
    # Run as a script (``python ml/train.py``, as the SageMaker toolkit does): make the package
    # that holds this file importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from ml import distributed
from ml.artifacts import INT8_WEIGHTS_FILE, write_json, write_metrics, write_model_artifacts
from ml.baseline import BASELINE_FILE, AnswerTally, baseline_document, image_mix, labels_of
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
from ml.model import backbone_of, build_model, freeze_backbone
from ml.options import parse_args
from ml.package import write_inference_code

logger = logging.getLogger("ml.train")


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


@dataclass
class Run:
    """What the training steps share: the options, where it runs, and what it trains."""

    args: argparse.Namespace
    device: torch.device
    ctx: distributed.DistributedContext
    class_names: list[str]
    model: nn.Module
    trainable: object  # TrainableModel or HeadOnly: what train_one_epoch steps
    evaluated: nn.Module  # what evaluate() runs: the model, or its head on cached features
    loaders: Loaders


def _train(args, device: torch.device, ctx: distributed.DistributedContext) -> nn.Module:
    seed_everything(args.seed)
    logger.info("training on %s, process %d of %d", device, ctx.rank + 1, ctx.world_size)
    run = prepare(args, device, ctx)
    if args.features_only:
        if ctx.is_main_process and args.features_s3_uri:
            from ml.s3_transfer import upload_dir  # boto3: only a features job needs it

            upload_dir(args.feature_cache, args.features_s3_uri)
        logger.info("features computed into %s; --features-only: not training", args.feature_cache)
        return run.model
    logger.info("%d training images", len(run.loaders.train.dataset))
    optimizer, scheduler = make_optimizer(args, run.model)
    start_epoch, history = resume(run, optimizer, scheduler)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(start_epoch, args.epochs + 1):
        history.append(train_epoch(run, epoch, criterion, optimizer, scheduler))
        if ctx.is_main_process:
            save_checkpoint(args.checkpoint_dir, checkpoint_of(run, optimizer, scheduler, history))
        distributed.barrier(ctx)
    write_outputs(run, criterion, history)
    distributed.barrier(ctx)  # every process leaves with the model written
    return run.model


def prepare(args, device: torch.device, ctx: distributed.DistributedContext) -> Run:
    """The splits, the classes, the model on the device, and the pipeline that feeds it:
    images, or the backbone's features from the cache."""
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
    return Run(args, device, ctx, class_names, model, trainable, evaluated, loaders)


def make_optimizer(args, model: nn.Module):
    """The optimizer over the parameters that train, and its cosine schedule over the epochs."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            parameters, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
        )
    else:
        optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=args.weight_decay)
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)


def resume(run: Run, optimizer, scheduler) -> tuple[int, list[dict]]:
    """The first epoch to train and the metrics so far: from the checkpoint ``--resume``
    finds (the same run's, or refused), else epoch 1 and none."""
    args = run.args
    resume_path = find_resume_path(args.resume, args.checkpoint_dir)
    if resume_path is None:
        return 1, []
    checkpoint = load_checkpoint(resume_path)
    check_same_run(checkpoint, resume_path, args, run.class_names)
    run.model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    restore_rng_state(checkpoint["rng"])
    start_epoch = checkpoint["epoch"] + 1
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
    return start_epoch, checkpoint["history"]


def train_epoch(run: Run, epoch: int, criterion, optimizer, scheduler) -> dict:
    """One epoch of training and validation; its metrics, logged by the main process."""
    args, ctx, loaders = run.args, run.ctx, run.loaders
    if isinstance(loaders.train_sampler, DistributedSampler):
        loaders.train_sampler.set_epoch(epoch)
    train = train_one_epoch(
        run.trainable, criterion, optimizer, loaders.train, run.device, epoch, args, ctx
    )
    distributed.average_buffers(run.model, ctx)
    valid = evaluate(run.evaluated, criterion, loaders.valid, run.device, ctx)
    scheduler.step()
    row = {
        "epoch": epoch,
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "valid_loss": valid["loss"],
        "valid_accuracy": valid["accuracy"],
    }
    if ctx.is_main_process:
        logger.info(
            "epoch %d/%d metrics: %s",
            epoch,
            args.epochs,
            format_metrics({k: v for k, v in row.items() if k != "epoch"}),
        )
    return row


def checkpoint_of(run: Run, optimizer, scheduler, history: list[dict]) -> dict:
    return {
        "model": run.model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": history[-1]["epoch"],
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(run.args).items()},
        "rng": rng_state(),
        "history": history,
        "class_names": run.class_names,
    }


def write_outputs(run: Run, criterion, history: list[dict]) -> None:
    """The test metrics, then (main process) the model artifacts with metrics.json, the int8
    model and the inference code, as the options ask."""
    args = run.args
    answers = AnswerTally(len(run.class_names))
    test = evaluate(run.evaluated, criterion, run.loaders.test, run.device, run.ctx, answers)
    test_metrics = {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
    if not run.ctx.is_main_process:
        return
    logger.info("test metrics: %s", format_metrics(test_metrics))
    int8, int8_state = check_int8(args, run.model) if args.package_int8 else (None, None)
    # First, as an earlier run's int8 model in the same model dir would be served with this one.
    (args.model_dir / INT8_WEIGHTS_FILE).unlink(missing_ok=True)
    config = {"arch": args.arch, "image_size": args.image_size, "num_classes": len(run.class_names)}
    write_model_artifacts(
        args.model_dir, run.model, config, run.class_names, history, test_metrics, int8
    )
    # SageMaker uploads this folder beside the model (output.tar.gz): what a reviewer of
    # the registered model reads its metrics from (python -m mlops register).
    write_metrics(args.output_data_dir, history, test_metrics, int8)
    write_baseline(run, answers, (args.model_dir, args.output_data_dir))
    if int8_state is not None:
        atomic_write(args.model_dir / INT8_WEIGHTS_FILE, lambda tmp: tmp.write_bytes(int8_state))
    if args.include_inference_code:
        write_inference_code(args.model_dir)
    logger.info("model artifacts written to %s", args.model_dir)


def write_baseline(run: Run, answers: AnswerTally, folders: tuple[Path, ...]) -> None:
    """baseline.json (ml.baseline), beside metrics.json in each of ``folders``."""
    train_set = run.loaders.train.dataset
    images = image_mix(s.path for s in train_set.samples) if hasattr(train_set, "samples") else None
    document = baseline_document(run.class_names, labels_of(train_set), answers, images)
    for folder in folders:
        write_json(Path(folder) / BASELINE_FILE, document)


def check_int8(args, model: nn.Module) -> tuple[dict | None, bytes | None]:
    """The int8 check as metrics.json keeps it, and the int8 state when it agrees with fp32
    enough; otherwise a warning and no state (a finished training run is not thrown away for
    its int8 copy). A run on cached features alone has no images to check it on: no check."""
    from ml.quantize import QuantizationRefusedError, quantize_checked

    if not (args.valid_dir.is_dir() and args.test_dir.is_dir()):
        logger.warning(
            "no int8 model: it is calibrated and checked on the valid and test images, and this "
            "run has none (cached features only); python -m ml.package --int8 adds one later"
        )
        return None, None
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
        return error.report.summary(shipped=False), None
    return report.summary(shipped=True), report.state


def configure_logging() -> None:
    # stdout: SageMaker ships it to CloudWatch and matches metric regexes against it.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("matplotlib").setLevel(logging.WARNING)


def run_as_script() -> NoReturn:
    """``python ml/train.py``: every way out, a process group joined or not, through
    `distributed.exit_process`."""
    configure_logging()
    status: int | str | None = 1
    try:
        main(parse_args())
        status = 0
    except UserError as error:
        logger.error("%s", error)
        status = USAGE_EXIT_STATUS
    except SystemExit as leaving:  # argparse's --help and usage errors
        status = leaving.code
    except KeyboardInterrupt:
        logger.error("interrupted")
        status = 130
    except Exception:
        traceback.print_exc()  # stderr: where the training toolkit reads a failure's reason
    distributed.exit_process(status)


if __name__ == "__main__":
    run_as_script()
