"""Training throughput (images/s) of the real training step on this machine's CPU or GPU.

    .venv/bin/python -m bench.train_throughput --arch resnet50 --image-size 224

Measures ``ml.engine.train_one_epoch`` with a frozen backbone and with full fine-tuning, on
random tensors (no data loading), after one warm-up step.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from ml.distributed import DistributedContext
from ml.engine import TrainableModel, train_one_epoch
from ml.model import build_model, freeze_backbone

logger = logging.getLogger("bench.train_throughput")


def measure(arch: str, frozen: bool, image_size: int, batch_size: int, steps: int) -> float:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(arch, num_classes=133)
    if frozen:
        freeze_backbone(model)
    model = model.to(device, memory_format=torch.channels_last)
    trainable = TrainableModel(model, frozen, DistributedContext(), device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    images = torch.randn(batch_size * steps, 3, image_size, image_size)
    labels = torch.randint(0, 133, (batch_size * steps,))
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size)
    warmup = DataLoader(
        TensorDataset(images[:batch_size], labels[:batch_size]), batch_size=batch_size
    )
    quiet = argparse.Namespace(log_interval=10**9)
    criterion = torch.nn.CrossEntropyLoss()
    train_one_epoch(trainable, criterion, optimizer, warmup, device, 0, quiet, DistributedContext())
    started = time.perf_counter()
    train_one_epoch(trainable, criterion, optimizer, loader, device, 1, quiet, DistributedContext())
    return batch_size * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50", help="architecture")
    parser.add_argument("--image-size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batch-size", type=int, default=16, help="images per step")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = {
        "arch": args.arch,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    for mode, frozen in (("frozen_backbone", True), ("full_fine_tune", False)):
        results[f"{mode}_images_per_s"] = round(
            measure(args.arch, frozen, args.image_size, args.batch_size, args.steps), 2
        )
    logger.info("%s", json.dumps(results))


if __name__ == "__main__":
    main()
