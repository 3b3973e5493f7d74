"""ResNet classifiers for transfer learning, shared by training and the endpoint handler."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torchvision import models

from ml.errors import UserError

logger = logging.getLogger(__name__)

ARCHITECTURES = {
    "resnet18": (models.resnet18, models.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (models.resnet34, models.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (models.resnet50, models.ResNet50_Weights.IMAGENET1K_V2),
}


class WeightsUnavailableError(UserError):
    """The backbone's starting weights cannot be had: not downloadable, or no such file."""


def imagenet_weights_file(arch: str) -> tuple[str, Path]:
    """Where torchvision downloads an architecture's ImageNet weights from, and the file it
    keeps them in (under ``$TORCH_HOME``); nothing is fetched."""
    url = ARCHITECTURES[arch][1].url
    return url, Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _construct(arch: str, pretrained: bool) -> nn.Module:
    constructor, imagenet_weights = ARCHITECTURES[arch]
    if not pretrained:
        return constructor(weights=None)
    try:
        return constructor(weights=imagenet_weights)
    except OSError as error:  # urllib's URLError and HTTPError are OSErrors
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        reason = getattr(error, "reason", None) or error
        raise WeightsUnavailableError(
            f"could not download the ImageNet weights of {arch} ({imagenet_weights.url}) into "
            f"{cache}: {reason}. Put that file there, or pass --backbone-weights FILE "
            "(a local ImageNet state dict) or --no-pretrained"
        ) from error


def build_model(
    arch: str,
    num_classes: int,
    pretrained: bool = False,
    backbone_weights: Path | None = None,
) -> nn.Module:
    """A torchvision ResNet with a fresh ``num_classes`` head.

    ``pretrained`` fetches torchvision's ImageNet weights (needs network access once; they are
    cached under ``$TORCH_HOME``). ``backbone_weights`` loads an ImageNet state dict from a
    local file instead. The endpoint passes neither: its weights come from ``model.tar.gz``.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if pretrained and backbone_weights is not None:
        raise ValueError("pass either pretrained or backbone_weights, not both")
    model = _construct(arch, pretrained)
    if backbone_weights is not None:
        if not Path(backbone_weights).is_file():
            raise WeightsUnavailableError(f"--backbone-weights {backbone_weights}: no such file")
        state = torch.load(backbone_weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        logger.info("loaded backbone weights from %s", backbone_weights)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def backbone_of(model: nn.Module) -> nn.Sequential:
    """Everything but the classification head, sharing the model's modules."""
    return nn.Sequential(
        *(child for name, child in model.named_children() if name != "fc"), nn.Flatten(1)
    )


def freeze_backbone(model: nn.Module) -> None:
    """Train only ``fc``: the backbone keeps its weights and batch-norm statistics."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("fc.")
