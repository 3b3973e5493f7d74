"""Atomic checkpoints that let a run resume exactly where it stopped (spot interruptions).

A checkpoint holds only tensors and plain Python values (the numpy RNG state is stored as a
tensor), so it loads with ``torch.load(weights_only=True)``: a checkpoint read back from
S3, where the training role may write, can carry no pickled code.

Before a run resumes, ``check_same_run`` compares what shapes the model and the optimizer
(architecture, classes, frozen backbone, optimizer, image size) with the checkpoint's, and
names the difference instead of failing inside ``load_state_dict``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import torch

from ml.errors import UserError
from ml.files import atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
# The options that shape the model, the optimizer's parameter groups or the inputs, with the
# flag that sets each: a checkpoint resumes only a run that agrees on all of them.
RUN_SHAPE = {
    "arch": "--arch",
    "freeze_backbone": "--freeze-backbone",
    "optimizer": "--optimizer",
    "image_size": "--image-size",
}


class CheckpointMismatchError(UserError):
    """The checkpoint to resume from belongs to a differently shaped run."""


def rng_state() -> dict:
    algorithm, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {
            "algorithm": algorithm,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["algorithm"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(checkpoint_dir: Path, state: dict) -> Path:
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    logger.info("saved checkpoint for epoch %d to %s", state["epoch"], path)
    return path


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise CheckpointMismatchError(
            f"checkpoint {path} cannot be read as a weights-only checkpoint of this version "
            f"({type(error).__name__}: {str(error).splitlines()[0]}); pass --resume none to "
            "start over, or another --checkpoint-dir"
        ) from error


def check_same_run(checkpoint: dict, path: Path, args, class_names: list[str]) -> None:
    """Refuse, naming every difference, a checkpoint of a differently shaped run."""
    saved = checkpoint.get("args", {})
    differences = [
        f"{flag} was {saved.get(name)!r}, now {getattr(args, name)!r}"
        for name, flag in RUN_SHAPE.items()
        if saved.get(name) != getattr(args, name)
    ]
    if checkpoint.get("epoch", 0) > args.epochs:
        differences.append(
            f"it holds {checkpoint['epoch']} epochs but --epochs is {args.epochs} (the learning "
            "rate schedule spans --epochs)"
        )
    if checkpoint.get("class_names") != class_names:
        saved_classes = checkpoint.get("class_names") or []
        differences.append(
            f"the classes were {len(saved_classes)} ({', '.join(saved_classes[:3])}...), "
            f"now {len(class_names)} ({', '.join(class_names[:3])}...)"
        )
    if differences:
        raise CheckpointMismatchError(
            f"checkpoint {path} is from another run configuration: {'; '.join(differences)}. "
            "Pass --resume none to start over there, or another --checkpoint-dir"
        )


def find_resume_path(resume: str, checkpoint_dir: Path) -> Path | None:
    """``auto``: the checkpoint in ``checkpoint_dir`` if any; ``none``: start fresh; else a path."""
    if resume == "none":
        return None
    if resume == "auto":
        candidate = Path(checkpoint_dir) / CHECKPOINT_NAME
        return candidate if candidate.is_file() else None
    path = Path(resume)
    if not path.is_file():
        raise UserError(f"--resume {resume}: no such checkpoint file")
    return path
