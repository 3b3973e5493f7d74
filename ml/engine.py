"""The training loop's parts: what is trained (the whole network, a head on a frozen backbone,
or a head on cached features), the loaders that feed it, one epoch of training, evaluation.

Shaped like torchvision's reference scripts (``train_one_epoch``, ``evaluate``); ``ml.train``
puts them together.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Sampler

from ml import distributed
from ml.baseline import AnswerTally
from ml.model import backbone_of

logger = logging.getLogger("ml.train")


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Images go channels-last (faster convolutions); feature vectors stay as they are."""
    if batch.dim() == 4:
        return batch.to(device, non_blocking=True, memory_format=torch.channels_last)
    return batch.to(device, non_blocking=True)


@dataclass
class Loaders:
    train: DataLoader
    train_sampler: Sampler
    valid: DataLoader
    test: DataLoader


def make_loaders(
    train_set: Dataset,
    valid_set: Dataset,
    test_set: Dataset,
    batch_size: int,
    workers: int,
    seed: int,
    ctx: distributed.DistributedContext,
) -> Loaders:
    """Shuffled training batches (a disjoint shard per process when distributed) and
    unshuffled evaluation batches, for image splits and cached features alike."""
    pin = torch.cuda.is_available()
    if ctx.enabled:
        # drop_last: shards are disjoint (no padding duplicates); the shuffle changes per epoch.
        train_sampler = DistributedSampler(
            train_set,
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
    else:
        train_sampler = RandomSampler(train_set)
    train_loader = DataLoader(
        train_set,
        batch_size=batch_size,
        sampler=train_sampler,
        num_workers=workers,
        pin_memory=pin,
        persistent_workers=workers > 0,
    )

    def eval_loader(dataset: Dataset) -> DataLoader:
        # Each process evaluates its own slice, unpadded, so summed metrics count every item once.
        shard = range(ctx.rank, len(dataset), ctx.world_size)
        return DataLoader(
            dataset, batch_size=batch_size, sampler=shard, num_workers=workers, pin_memory=pin
        )

    return Loaders(train_loader, train_sampler, eval_loader(valid_set), eval_loader(test_set))


class HeadOnly:
    """The head trained on cached backbone features (synchronised when distributed)."""

    def __init__(self, head: nn.Module, ctx: distributed.DistributedContext, device: torch.device):
        self.head = head
        if ctx.enabled:
            device_ids = [device.index] if device.type == "cuda" else None
            head = DistributedDataParallel(head, device_ids=device_ids)
        self.trained = head

    def train(self) -> None:
        self.head.train()

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return self.trained(features)


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
        images = to_device(images, device)
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
    model: nn.Module,
    criterion,
    loader,
    device,
    ctx: distributed.DistributedContext,
    tally: AnswerTally | None = None,
) -> dict[str, float]:
    """Per-sample mean loss and accuracy over the whole split (all processes together);
    with ``tally``, the answers added up there too (ml.baseline)."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    with torch.inference_mode():
        for images, targets in loader:
            images = to_device(images, device)
            targets = targets.to(device, non_blocking=True)
            outputs = model(images)
            loss_sum += criterion(outputs, targets).item() * targets.size(0)
            correct += (outputs.argmax(1) == targets).sum().item()
            seen += targets.size(0)
            if tally is not None:
                tally.add(outputs)
    loss_sum, correct, seen = distributed.all_reduce_sum([loss_sum, correct, seen], device, ctx)
    if tally is not None:
        tally.from_list(distributed.all_reduce_sum(tally.as_list(), device, ctx))
    return {"loss": loss_sum / seen, "accuracy": correct / seen}
