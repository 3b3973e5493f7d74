"""Atomic checkpoints that let a run resume exactly where it stopped (spot interruptions)."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import torch

from ml.files import atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"


def rng_state() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(checkpoint_dir: Path, state: dict) -> Path:
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    logger.info("saved checkpoint for epoch %d to %s", state["epoch"], path)
    return path


def load_checkpoint(path: Path) -> dict:
    # The checkpoint holds optimizer state, RNG states and args: not weights-only data.
    return torch.load(path, map_location="cpu", weights_only=False)


def find_resume_path(resume: str, checkpoint_dir: Path) -> Path | None:
    """``auto``: the checkpoint in ``checkpoint_dir`` if any; ``none``: start fresh; else a path."""
    if resume == "none":
        return None
    if resume == "auto":
        candidate = Path(checkpoint_dir) / CHECKPOINT_NAME
        return candidate if candidate.is_file() else None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"--resume {resume}: no such checkpoint file")
    return path
