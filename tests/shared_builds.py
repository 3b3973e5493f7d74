"""Files several test processes of one run read, built by one of them."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from pathlib import Path


def built_once_per_run(request, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``build`` fills, built by whichever test process of this run comes first
    (the others wait for it, then read the same files): one training run per run, not one per
    process. Built in a folder of its own, then renamed: a failed build leaves nothing that
    looks finished, and the next process to ask builds it again."""
    base = request.getfixturevalue("tmp_path_factory").getbasetemp()
    # In an xdist worker: the run's folder, which its workers share and no other run sees. Asked
    # of the config, not of PYTEST_XDIST_WORKER, which a pytest that a test starts inherits.
    if hasattr(request.config, "workerinput"):
        base = base.parent
    folder = base / f"shared-{name}"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            partial = base / f"shared-{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(folder)
    return folder
