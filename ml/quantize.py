"""Post-training static int8 quantization of a trained model, for CPU endpoints.

FX graph mode quantization with the x86 backend (torch.ao), per-channel weights, calibrated on
a sample of the validation split. Before the int8 model may ship, its top-1 answer is compared
with the fp32 model's on held-out images; below the required agreement nothing is written.

What ships is the quantized state dict (``ml.artifacts.INT8_WEIGHTS_FILE``, loadable with
``weights_only=True``). ``load_int8`` rebuilds the quantized graph from the architecture
alone and loads that state into it, so the endpoint needs no calibration data.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
from torch.utils.data import DataLoader, Subset

from ml.data import ImageSplit, eval_transform, scan_split
from ml.errors import UserError
from ml.model import build_model

logger = logging.getLogger(__name__)

BACKEND = "x86"


class QuantizationRefusedError(UserError):
    """The int8 model agrees too little with the fp32 model to be served."""

    def __init__(self, message: str, report: Report):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Report:
    calibration_images: int
    holdout_images: int
    agreement: float
    state: bytes  # the quantized state dict, torch.save'd

    def __str__(self) -> str:
        return (
            f"int8 agrees with fp32 on {self.agreement:.2%} of {self.holdout_images} held-out "
            f"images (calibrated on {self.calibration_images})"
        )

    def summary(self, shipped: bool) -> dict:
        """What metrics.json keeps of the check."""
        return {
            "agreement": round(self.agreement, 6),
            "holdout_images": self.holdout_images,
            "calibration_images": self.calibration_images,
            "shipped": shipped,
        }


def _prepare(model: nn.Module, image_size: int) -> nn.Module:
    torch.backends.quantized.engine = BACKEND
    example = (torch.zeros(1, 3, image_size, image_size),)
    return prepare_fx(model.eval(), get_default_qconfig_mapping(BACKEND), example)


def quantize(model: nn.Module, calibration: DataLoader, image_size: int) -> nn.Module:
    """An int8 copy of ``model`` (fp32, on the CPU), calibrated on the loader's images."""
    prepared = _prepare(model, image_size)
    with torch.inference_mode():
        for images, _ in calibration:
            prepared(images)
    return convert_fx(prepared)


def load_int8(arch: str, num_classes: int, image_size: int, state: dict) -> nn.Module:
    """The quantized graph rebuilt from the architecture, with a stored int8 state loaded."""
    skeleton = build_model(arch, num_classes, pretrained=False)
    with warnings.catch_warnings():
        # Uncalibrated observers warn; their values are replaced by the stored state.
        warnings.simplefilter("ignore", UserWarning)
        quantized = convert_fx(_prepare(skeleton, image_size))
    quantized.load_state_dict(state)
    return quantized.eval()


def top1_agreement(first: nn.Module, second: nn.Module, loader: DataLoader) -> tuple[float, int]:
    same = seen = 0
    with torch.inference_mode():
        for images, _ in loader:
            same += (first(images).argmax(1) == second(images).argmax(1)).sum().item()
            seen += images.size(0)
    return same / seen, seen


def sample(split: ImageSplit, count: int, batch_size: int = 16) -> DataLoader:
    """Up to ``count`` images spread evenly over the split (every class represented)."""
    step = max(1, len(split) // count)
    return DataLoader(Subset(split, range(0, len(split), step)[:count]), batch_size=batch_size)


def quantize_checked(
    model: nn.Module,
    image_size: int,
    calibration_dir: Path,
    holdout_dir: Path,
    min_agreement: float,
    calibration_images: int = 64,
    holdout_images: int = 256,
) -> Report:
    """Quantize on the calibration images and measure agreement on the held-out ones; refuse
    (``QuantizationRefusedError``) below ``min_agreement``."""
    model = model.cpu().eval()
    transform = eval_transform(image_size)
    calibration = sample(scan_split(calibration_dir, transform), calibration_images)
    holdout = sample(scan_split(holdout_dir, transform), holdout_images)
    quantized = quantize(model, calibration, image_size)
    agreement, seen = top1_agreement(model, quantized, holdout)
    buffer = io.BytesIO()
    torch.save(quantized.state_dict(), buffer)
    report = Report(len(calibration.dataset), seen, agreement, buffer.getvalue())
    if agreement < min_agreement:
        raise QuantizationRefusedError(
            f"{report}, below the required {min_agreement:.2%}: no int8 model is written "
            "(serve fp32, calibrate on more images, or lower --min-agreement knowingly)",
            report,
        )
    logger.info("%s", report)
    return report
