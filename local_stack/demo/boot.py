"""Run ec2/train_on_boot.sh from an extracted code bundle, as the instance's systemd unit runs
it, against whatever the standard AWS variables point at (the emulator)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path


def boot_environment(
    work_dir: Path,
    bucket: str,
    run_id: str,
    hyperparameters: list[str],
    data_prefix: str = "data/",
) -> dict[str, str]:
    """The script's variables as /etc/dog-breeds/train.env sets them; of the caller's
    environment only the standard AWS variables (the emulator's), PATH and the torch cache
    (downloaded ImageNet weights stay where the user has them) reach it."""
    return {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        "PATH": os.environ["PATH"],
        "HOME": str(work_dir),
        "TORCH_HOME": os.environ.get("TORCH_HOME", str(Path.home() / ".cache" / "torch")),
        "BUCKET": bucket,
        "DATA_PREFIX": data_prefix,
        "CODE_PREFIX": "code/",
        "MODELS_PREFIX": "models/",
        "RUN_ID": run_id,
        "WORK_DIR": str(work_dir),
        "PYTHON": sys.executable,
        "STOP_AFTER_TRAINING": "false",
        "HYPERPARAMETERS": " ".join(hyperparameters),
    }


def run_train_on_boot(
    code_dir: Path,
    work_dir: Path,
    bucket: str,
    run_id: str,
    hyperparameters: list[str],
    data_prefix: str = "data/",
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run the script to the end (killed after ``timeout`` seconds); ``on_line`` sees each line
    of its output as it is written (a real dataset trains for an hour), and the result holds
    all of it."""
    env = boot_environment(work_dir, bucket, run_id, hyperparameters, data_prefix)
    env.update(extra_env or {})
    command = ["bash", str(Path(code_dir) / "ec2" / "train_on_boot.sh")]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # one process group: the script and the trainer it starts
    ) as process:
        timed_out = threading.Event()

        def kill_group() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        def kill_on_timeout() -> None:
            timed_out.set()
            kill_group()

        watchdog = threading.Timer(timeout, kill_on_timeout) if timeout else None
        if watchdog is not None:
            watchdog.start()
        try:
            for line in process.stdout:
                lines.append(line)
                if on_line is not None:
                    on_line(line.rstrip("\n"))
            returncode = process.wait()
        finally:
            kill_group()
            if watchdog is not None:
                watchdog.cancel()
    output = "".join(lines)
    if timed_out.is_set():
        raise subprocess.TimeoutExpired(command, timeout, output=output)
    return subprocess.CompletedProcess(command, returncode, output, "")
