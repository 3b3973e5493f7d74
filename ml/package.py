"""Build the ``model.tar.gz`` a SageMaker PyTorch endpoint serves.

    python -m ml.package build/model build/model.tar.gz
    python -m ml.package build/model build/model.tar.gz --int8 \
        --calibration-dir data/dogImages/valid --holdout-dir data/dogImages/test
    # --int8-optional: an int8 model that agrees too little is left out (a warning), not fatal

Layout (what the PyTorch inference container expects)::

    model.pth  model_config.json  class_names.json  metrics.json  baseline.json
    model_int8.pth                # the quantized model for x86 CPU endpoints: the one ml.train
                                  # wrote after its check, or made again with --int8
    code/inference.py             # model_fn / input_fn / predict_fn / output_fn
    code/ml/...                   # the whole ml package, which inference.py imports

The archive is reproducible (sorted entries, fixed timestamps and owners) and written
atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from ml.artifacts import (
    CLASS_NAMES_FILE,
    CONFIG_FILE,
    INT8_WEIGHTS_FILE,
    METRICS_FILE,
    MODEL_FILES,
    WEIGHTS_FILE,
)
from ml.baseline import BASELINE_FILE
from ml.errors import USAGE_EXIT_STATUS, UserError
from ml.files import atomic_write, package_files, write_tar_gz

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent


def archive_members(model_dir: Path) -> dict[str, bytes]:
    """Archive path -> content, checking the model dir holds what the endpoint needs."""
    model_dir = Path(model_dir)
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{model_dir} lacks {', '.join(missing)}: is it a model dir written by ml.train?"
        )
    members = {name: (model_dir / name).read_bytes() for name in MODEL_FILES}
    # The int8 copy ml.train writes by default (after its check against fp32), its metrics
    # and the baseline its traffic is monitored against.
    for optional in (INT8_WEIGHTS_FILE, METRICS_FILE, BASELINE_FILE):
        if (model_dir / optional).is_file():
            members[optional] = (model_dir / optional).read_bytes()
    members.update(inference_code_members())
    return members


def inference_code_members() -> dict[str, bytes]:
    """``code/``: the handler the serving container loads, and the package it imports."""
    return {
        "code/inference.py": (PACKAGE_DIR / "inference.py").read_bytes(),
        **package_files(PACKAGE_DIR, "code/ml"),
    }


def write_inference_code(model_dir: Path) -> None:
    """Add ``code/`` to a model dir, so that an archive of the dir (what a SageMaker training
    job uploads as model.tar.gz) is deployable as it is."""
    for name, content in inference_code_members().items():
        atomic_write(Path(model_dir) / name, lambda tmp, content=content: tmp.write_bytes(content))


@dataclass(frozen=True)
class Int8Options:
    """Where int8 calibration images and held-out images come from, the top-1 agreement with
    fp32 the int8 model must reach to ship, and whether an int8 model that misses it fails the
    packaging (``required``) or is left out with a warning, the fp32 archive written."""

    calibration_dir: Path
    holdout_dir: Path
    min_agreement: float = 0.99
    required: bool = True


def int8_weights(model_dir: Path, options: Int8Options) -> bytes:
    """The quantized state of the model dir's fp32 model, checked against it."""
    import torch

    from ml.model import build_model
    from ml.quantize import quantize_checked

    model_dir = Path(model_dir)
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    classes = json.loads((model_dir / CLASS_NAMES_FILE).read_text())
    model = build_model(config["arch"], len(classes), pretrained=False)
    weights = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(weights)
    report = quantize_checked(
        model,
        config["image_size"],
        options.calibration_dir,
        options.holdout_dir,
        options.min_agreement,
    )
    return report.state


def build_model_archive(model_dir: Path, output: Path, int8: Int8Options | None = None) -> Path:
    """Write the archive; with ``int8``, the quantized model too. When it agrees too little
    with fp32: nothing is written (``QuantizationRefusedError``), or, int8 not ``required``,
    the archive without it and a warning saying why."""
    from ml.quantize import QuantizationRefusedError

    members = archive_members(model_dir)
    if int8 is not None:
        try:
            members[INT8_WEIGHTS_FILE] = int8_weights(model_dir, int8)
        except QuantizationRefusedError as error:
            if int8.required:
                raise
            members.pop(INT8_WEIGHTS_FILE, None)  # a copy training wrote would not be fp32 only
            logger.warning("int8 model left out, the archive holds fp32 only: %s", error)
    write_tar_gz(members, output)
    size = Path(output).stat().st_size
    logger.info("wrote %s (%d files, %.1f MB)", output, len(members), size / 1e6)
    return Path(output)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ml.package", description="Package a trained model for SageMaker."
    )
    parser.add_argument("model_dir", type=Path, help="model dir written by ml.train")
    parser.add_argument("output", type=Path, help="path of the model.tar.gz to write")
    parser.add_argument(
        "--int8",
        action="store_true",
        help="add an int8 model for CPU endpoints (post-training static quantization)",
    )
    parser.add_argument(
        "--calibration-dir", type=Path, help="with --int8: images to calibrate on (valid split)"
    )
    parser.add_argument(
        "--holdout-dir", type=Path, help="with --int8: images to compare fp32 and int8 on (test)"
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=Int8Options.min_agreement,
        help="with --int8: the top-1 agreement with fp32 required to ship int8 (default: "
        f"{Int8Options.min_agreement})",
    )
    parser.add_argument(
        "--int8-optional",
        action="store_true",
        help="with --int8: when the int8 model agrees too little, write the archive with fp32 "
        "only and log why (as ml.train --package-int8 does), instead of failing",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    int8 = None
    if args.int8:
        if args.calibration_dir is None or args.holdout_dir is None:
            parser.error("--int8 needs --calibration-dir and --holdout-dir")
        if not 0 < args.min_agreement <= 1:
            parser.error("--min-agreement must be in (0, 1]")
        int8 = Int8Options(
            args.calibration_dir, args.holdout_dir, args.min_agreement, not args.int8_optional
        )
    elif args.int8_optional:
        parser.error("--int8-optional goes with --int8")
    try:
        build_model_archive(args.model_dir, args.output, int8)
    except FileNotFoundError as error:
        parser.error(str(error))
    except UserError as error:
        logger.error("%s", error)
        sys.exit(USAGE_EXIT_STATUS)


if __name__ == "__main__":
    main()
