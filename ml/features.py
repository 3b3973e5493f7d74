"""Backbone features computed once and cached, so a frozen-backbone run trains only the head.

With the backbone frozen and augmentation off, an image's backbone output never changes: this
module computes it once per split and stores it in a cache folder, and training then feeds the
head with the stored features (seconds per epoch instead of a full ResNet pass per image).

Cache layout, one pair per split: ``<split>.pt`` (``features``: N x F float32, ``labels``: N
int64; loads with ``weights_only=True``) and ``<split>.json``, the manifest of what the
features depend on: the architecture, a fingerprint of the backbone's weights, the image size,
the preprocessing, and every image file with its size and modification time. A cache whose
manifest differs from the run's is computed again, never reused. Where the images are absent
(a SageMaker trial that receives only the cache), the file list cannot be checked and the
cache's own list is used, as the log says.

In a distributed run each process computes a disjoint shard of a split and all of them gather
the whole in memory; rank 0 writes the cache. Processes may sit on hosts with their own disks
(a multi-instance SageMaker job), so they decide together whether to compute (any one without a
matching cache makes all compute) and never read a cache another process wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ml import distributed
from ml.data import IMAGENET_MEAN, IMAGENET_STD, RESIZE_RATIO, ImageSplit
from ml.errors import UserError
from ml.files import atomic_write

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
SPLITS = ("train", "valid", "test")


class FeatureCacheError(UserError):
    """The cache cannot serve this run and cannot be computed (no images to compute it from)."""


def weights_fingerprint(backbone: nn.Module) -> str:
    """sha256 of the backbone's parameters and buffers, names included."""
    digest = hashlib.sha256()
    for name, tensor in sorted(backbone.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def preprocessing(image_size: int) -> dict:
    """What ``ml.data.eval_transform`` does, as data: a change to it changes the manifest."""
    return {
        "resize": round(image_size * RESIZE_RATIO),
        "center_crop": image_size,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
    }


def manifest_for(split: ImageSplit, root: Path, arch: str, weights: str, image_size: int) -> dict:
    files = []
    for sample in split.samples:
        stat = sample.path.stat()
        relative = sample.path.relative_to(root).as_posix()
        files.append([relative, stat.st_size, stat.st_mtime_ns, sample.label])
    return {
        "version": MANIFEST_VERSION,
        "arch": arch,
        "weights": weights,
        "image_size": image_size,
        "preprocessing": preprocessing(image_size),
        "class_dirs": split.class_dirs,
        "files": files,
    }


def _differences(saved: dict, wanted: dict) -> list[str]:
    return [key for key in wanted if saved.get(key) != wanted[key]]


def compute_features(
    split: ImageSplit,
    backbone: nn.Module,
    device: torch.device,
    batch_size: int,
    workers: int,
    ctx: distributed.DistributedContext,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of every image, in the split's order; each process computes its
    own shard and all of them end with the whole."""
    shard = list(range(ctx.rank, len(split), ctx.world_size))
    # Its own generator: computing features draws nothing from the global RNG, so the training
    # that follows shuffles exactly as it would without a cache.
    loader = DataLoader(
        split,
        batch_size=batch_size,
        sampler=shard,
        num_workers=workers,
        generator=torch.Generator(),
    )
    parts, labels = [], []
    backbone.eval()
    with torch.inference_mode():
        for images, targets in loader:
            images = images.to(device, memory_format=torch.channels_last)
            parts.append(backbone(images).float().cpu())
            labels.append(targets)
    features = torch.cat(parts) if parts else torch.empty(0)
    local = (shard, features, torch.cat(labels) if labels else torch.empty(0, dtype=torch.long))
    gathered = distributed.all_gather_objects(local, ctx)
    width = max(part[1].shape[1] for part in gathered if part[1].numel())
    all_features = torch.empty(len(split), width)
    all_labels = torch.empty(len(split), dtype=torch.long)
    for indices, shard_features, shard_labels in gathered:
        if indices:
            all_features[indices] = shard_features
            all_labels[indices] = shard_labels
    return all_features, all_labels


def load_or_compute(
    name: str,
    split: ImageSplit | None,
    root: Path,
    cache_dir: Path,
    backbone: nn.Module,
    arch: str,
    image_size: int,
    device: torch.device,
    batch_size: int,
    workers: int,
    ctx: distributed.DistributedContext,
    weights: str | None = None,
) -> TensorDataset:
    """The split's cached features when the manifest matches, else computed and stored."""
    cache_dir = Path(cache_dir)
    tensors_path, manifest_path = cache_dir / f"{name}.pt", cache_dir / f"{name}.json"
    weights = weights or weights_fingerprint(backbone)
    saved = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if split is None:
        check_cache_without_images(saved, root, manifest_path, arch, weights, image_size)
    else:
        wanted = manifest_for(split, root, arch, weights, image_size)
        reason = None
        if saved is None or (differences := _differences(saved, wanted)):
            reason = "none yet" if saved is None else f"it differs in {', '.join(differences)}"
        # compute_features is collective: every process takes the same branch.
        reasons = [r for r in distributed.all_gather_objects(reason, ctx) if r is not None]
        if reasons:
            logger.info("computing %s features into %s (%s)", name, cache_dir, reasons[0])
            features, labels = compute_features(split, backbone, device, batch_size, workers, ctx)
            if ctx.is_main_process:
                store(tensors_path, manifest_path, features, labels, wanted)
            return TensorDataset(features, labels)
        logger.info("%s features from the cache %s", name, cache_dir)
    stored = torch.load(tensors_path, map_location="cpu", weights_only=True)
    return TensorDataset(stored["features"], stored["labels"])


def check_cache_without_images(
    saved: dict | None, root: Path, manifest_path: Path, arch: str, weights: str, image_size: int
) -> None:
    """With no images to compute them from, the cache must exist and have been computed with
    this backbone, weights and preprocessing; its file list stands for the images."""
    if saved is None:
        raise FeatureCacheError(
            f"no images in {root} and no feature cache {manifest_path}: pass the images, "
            "or a cache computed for them"
        )
    wanted = {k: v for k, v in saved.items() if k not in ("files", "class_dirs")}
    wanted.update(
        version=MANIFEST_VERSION,
        arch=arch,
        weights=weights,
        image_size=image_size,
        preprocessing=preprocessing(image_size),
    )
    if differences := _differences(saved, wanted):
        raise FeatureCacheError(
            f"feature cache {manifest_path} was computed for another {', '.join(differences)}"
            f" and there are no images in {root} to compute it again"
        )
    logger.info(
        "no images in %s: using the %d files the cache %s lists",
        root,
        len(saved["files"]),
        manifest_path,
    )


def store(
    tensors_path: Path, manifest_path: Path, features: torch.Tensor, labels, manifest: dict
) -> None:
    atomic_write(
        tensors_path, lambda tmp: torch.save({"features": features, "labels": labels}, tmp)
    )
    # The manifest last: a cache without one is never taken for complete.
    atomic_write(manifest_path, lambda tmp: tmp.write_text(json.dumps(manifest)))


def class_dirs_of(cache_dir: Path, name: str = "train") -> list[str]:
    """The class folders a cached split was computed from."""
    manifest = Path(cache_dir) / f"{name}.json"
    if not manifest.is_file():
        raise FeatureCacheError(f"no feature cache {manifest}")
    return json.loads(manifest.read_text())["class_dirs"]
