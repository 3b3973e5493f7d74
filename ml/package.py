"""Build the ``model.tar.gz`` a SageMaker PyTorch endpoint serves.

    python -m ml.package build/model build/model.tar.gz

Layout (what the PyTorch inference container expects)::

    model.pth  model_config.json  class_names.json  metrics.json
    code/inference.py             # model_fn / input_fn / predict_fn / output_fn
    code/ml/...                   # the whole ml package, which inference.py imports

The archive is reproducible (sorted entries, fixed timestamps and owners) and written
atomically.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ml.artifacts import METRICS_FILE, MODEL_FILES
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
    if (model_dir / METRICS_FILE).is_file():
        members[METRICS_FILE] = (model_dir / METRICS_FILE).read_bytes()
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


def build_model_archive(model_dir: Path, output: Path) -> Path:
    members = archive_members(model_dir)
    write_tar_gz(members, output)
    logger.info("wrote %s (%d files)", output, len(members))
    return Path(output)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Package a trained model for SageMaker.")
    parser.add_argument("model_dir", type=Path, help="model dir written by ml.train")
    parser.add_argument("output", type=Path, help="path of the model.tar.gz to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        build_model_archive(args.model_dir, args.output)
    except FileNotFoundError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
