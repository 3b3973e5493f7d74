"""Datasets in the dogImages layout and the image preprocessing shared by training and serving.

Layout: ``<split>/NNN.Breed_Name/*.jpg`` for the splits ``train``, ``valid`` and ``test``.
``eval_transform`` is the one preprocessing used for evaluation and by the endpoint handler.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms

from ml.errors import UserError

logger = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
# Training crops out of a slightly larger resize, as the torchvision references do.
RESIZE_RATIO = 256 / 224
# One class is no classification: the model would answer it for every photo.
MIN_CLASSES = 2


class DatasetError(UserError, ValueError):
    """The dataset on disk is not usable; the message names the path and the problem."""


def breed_name(class_dir_name: str) -> str:
    """``"003.Airedale_terrier"`` -> ``"Airedale terrier"``."""
    _, _, name = class_dir_name.partition(".")
    return (name or class_dir_name).replace("_", " ")


def resize_size(image_size: int) -> int:
    """The shorter side an image is resized to before its center ``image_size`` crop."""
    return round(image_size * RESIZE_RATIO)


def eval_transform(image_size: int) -> transforms.Compose:
    """Deterministic preprocessing for validation, test and the endpoint."""
    return transforms.Compose(
        [
            transforms.Resize(resize_size(image_size)),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def train_transform(image_size: int) -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(image_size, scale=(0.5, 1.0)),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def load_rgb(path: Path) -> Image.Image:
    """Decode an image file to RGB, naming the file when it cannot be decoded."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise DatasetError(f"cannot decode image {path}: {error}") from error


def image_problem(path: Path) -> str | None:
    """What makes the file unusable for training, from its header and a check of its data
    (nothing decoded); None when it is a readable image. More pixels than Pillow decodes
    without a warning (``Image.MAX_IMAGE_PIXELS``) is a decompression bomb, or a photo to
    shrink: decoding it would take gigabytes."""
    try:
        with (
            warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning),
            Image.open(path) as image,
        ):
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return f"image {path} has too many pixels to decode safely ({error})"
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        return f"corrupt or unreadable image {path} ({error})"
    return None


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


class ImageSplit(torch.utils.data.Dataset):
    """One split (``train``, ``valid`` or ``test``) of a dogImages-shaped folder."""

    def __init__(self, samples: list[Sample], class_dirs: list[str], transform=None):
        self.samples = samples
        self.class_dirs = class_dirs
        self.transform = transform

    @property
    def class_names(self) -> list[str]:
        return [breed_name(name) for name in self.class_dirs]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.samples[index]
        image = load_rgb(sample.path)
        return (self.transform(image) if self.transform else image), sample.label


def scan_split(root: Path, transform=None, skip_corrupt: bool = False) -> ImageSplit:
    """Index a split, checking it: the folder exists, it has two classes or more, no class is
    empty, images open and are not decompression bombs.

    An unusable image is an error naming the file, or with ``skip_corrupt`` is left out and
    counted in the log.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist or is not a directory")
    class_dirs = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not class_dirs:
        raise DatasetError(f"dataset folder {root} has no class folders (expected NNN.Breed_Name/)")
    if len(class_dirs) < MIN_CLASSES:
        raise DatasetError(
            f"dataset folder {root} has one class folder ({class_dirs[0]}): a classifier "
            f"needs at least {MIN_CLASSES} classes"
        )
    samples: list[Sample] = []
    skipped: list[Path] = []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(
            p for p in (root / class_dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise DatasetError(f"class folder {root / class_dir} contains no images")
        for path in files:
            problem = image_problem(path)
            if problem is None:
                samples.append(Sample(path, label))
            elif skip_corrupt:
                skipped.append(path)
            else:
                raise DatasetError(
                    f"{problem}: remove it, or use --skip-corrupt to leave such files out"
                )
    if skipped:
        logger.warning("skipped %d unusable images in %s, e.g. %s", len(skipped), root, skipped[0])
    return ImageSplit(samples, class_dirs, transform)


def check_same_classes(
    reference: ImageSplit, reference_root: Path, other: ImageSplit, other_root: Path
) -> None:
    """Every split must hold exactly the training classes, in the same order."""
    if other.class_dirs == reference.class_dirs:
        return
    missing = sorted(set(reference.class_dirs) - set(other.class_dirs))
    extra = sorted(set(other.class_dirs) - set(reference.class_dirs))
    raise DatasetError(
        f"class folders of {other_root} differ from {reference_root}: "
        f"missing {missing or 'none'}, unexpected {extra or 'none'}"
    )
