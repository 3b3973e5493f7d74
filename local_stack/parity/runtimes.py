"""The runtimes AWS runs this project's code on, and environments that reproduce them.

``terraform/runtimes.json`` maps each deployed runtime (the inference and training image tags,
the Deep Learning AMI's SSM parameter, the Lambda runtime) to an environment: a Python version
and the packages that runtime ships. This builds each as a virtual environment under
``.venv-parity/`` (``PARITY_VENVS`` moves it), re-installing one only when its Python or pins
change; ``tests/parity`` runs the shipped code in them. Each installs from its lock
(``locks/NAME.txt``: every distribution pip resolves for those pins, less what only a GPU
runs, see ``local_stack/lean_install.py``), which ``lock`` writes when the pins change.

    python -m local_stack.parity build [NAME ...]     # or: make parity-envs
    python -m local_stack.parity lock [NAME ...]      # after changing pins in runtimes.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from local_stack import lean_install
from local_stack.paths import REPO_ROOT

logger = logging.getLogger(__name__)

RUNTIMES_FILE = REPO_ROOT / "terraform" / "runtimes.json"
LOCKS = Path(__file__).parent / "locks"
STAMP = ".pins.sha256"


class RuntimeEnvironmentError(RuntimeError):
    """An environment cannot be built or used here; the message says what to do."""


def runtimes() -> dict:
    return json.loads(RUNTIMES_FILE.read_text())


def venvs_root() -> Path:
    return Path(os.environ.get("PARITY_VENVS", REPO_ROOT / ".venv-parity"))


def environment_python(name: str) -> Path:
    """The interpreter of a built environment; an error saying how to build it otherwise."""
    python = venvs_root() / name / "bin" / "python"
    if not python.exists() or not (venvs_root() / name / STAMP).exists():
        raise RuntimeEnvironmentError(
            f"the parity environment {name} is not built: run make parity-envs"
        )
    return python


def pins_of(environment: dict) -> str:
    wanted = {
        "python": environment["python"],
        "packages": sorted(environment["packages"] + environment.get("test_packages", [])),
        "left_out": [*sorted(lean_install.LEFT_OUT), lean_install.CUDNN_KERNEL_LIBRARIES],
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def runs(python: str) -> bool:
    return subprocess.run([python, "-c", "pass"], capture_output=True, check=False).returncode == 0


def base_interpreter(version: str) -> str:
    """``python3.12`` (say) from PATH when it runs, else pyenv's newest 3.12.x (a pyenv shim
    answers only for the versions pyenv has activated)."""
    found = shutil.which(f"python{version}")
    if found and runs(found):
        return found
    if pyenv := shutil.which("pyenv"):
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        versions = Path(root.stdout.strip()) / "versions"
        candidates = sorted(
            versions.glob(f"{version}.*/bin/python{version}"),
            key=lambda path: [int(n) for n in path.parent.parent.name.split(".") if n.isdigit()],
        )
        if candidates and runs(str(candidates[-1])):
            return str(candidates[-1])
    raise RuntimeEnvironmentError(
        f"no Python {version} here: install it (e.g. pyenv install {version}) to build the "
        "parity environments"
    )


def lock_path(name: str) -> Path:
    return LOCKS / f"{name}.txt"


def write_lock(name: str, environment: dict) -> Path:
    """Resolve the environment's pins with its Python's pip; write every distribution, pinned."""
    packages = environment["packages"] + environment.get("test_packages", [])
    base = base_interpreter(environment["python"])
    pins = lean_install.resolve(base, packages, ["--quiet", "--no-cache-dir"])
    left_out = ", ".join(sorted(lean_install.LEFT_OUT))
    header = [
        f"# {name}: every distribution pip resolves for its pins in terraform/runtimes.json",
        f"# on Python {environment['python']}, Linux x86_64, less {left_out} (lean_install.py).",
        "# Written by: python -m local_stack.parity lock NAME (after changing the pins).",
        f"# pins: {pins_of(environment)}",
    ]
    path = lock_path(name)
    path.parent.mkdir(exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text("\n".join(header + sorted(pins, key=str.lower)) + "\n")
    scratch.replace(path)
    logger.info("%s: locked %d distributions in %s", name, len(pins), path)
    return path


def locked_pins(name: str, environment: dict) -> list[str]:
    """The environment's lock, refused when it was written for other pins."""
    path = lock_path(name)
    lines = path.read_text().splitlines() if path.exists() else []
    if f"# pins: {pins_of(environment)}" not in lines:
        raise RuntimeEnvironmentError(
            f"{path} is missing or older than the pins of {name} in {RUNTIMES_FILE.name}: "
            f"run python -m local_stack.parity lock {name}"
        )
    return [line for line in lines if line and not line.startswith("#")]


def build(name: str, environment: dict) -> bool:
    """Make the environment current; whether anything was installed."""
    folder = venvs_root() / name
    pins = pins_of(environment)
    stamp = folder / STAMP
    if stamp.exists() and stamp.read_text().strip() == pins:
        logger.info("%s: current", name)
        return False
    locked = locked_pins(name, environment)
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)  # never pips over another set of pins
    base = base_interpreter(environment["python"])
    subprocess.run([base, "-m", "venv", str(folder)], check=True)
    logger.info("%s: installing %s on Python %s", name, lock_path(name), environment["python"])
    python = str(folder / "bin" / "python")
    # The wheels are several GB, and a rebuild happens only on new pins.
    lean_install.install_pins(python, locked, pip_options=["--quiet", "--no-cache-dir"])
    lean_install.remove_cudnn_kernels(lean_install.site_packages(python))
    stamp.write_text(pins + "\n")  # last: a half-built environment is never taken as built
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**30
    logger.info("%s: built in %.0f s, %.1f GiB", name, time.perf_counter() - started, size)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.parity", description=__doc__)
    parser.add_argument("command", choices=["build", "lock"])
    parser.add_argument("names", nargs="*", help="environments to build or lock (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    environments = runtimes()["environments"]
    unknown = sorted(set(args.names) - set(environments))
    if unknown:
        parser.error(f"no such environment in {RUNTIMES_FILE}: {', '.join(unknown)}")
    names = args.names or sorted(environments)
    work = build if args.command == "build" else write_lock
    # Side by side: each is mostly a download of its own wheels (or of their metadata).
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        builds = {name: pool.submit(work, name, environments[name]) for name in names}
    failed = False
    for name, outcome in builds.items():
        if (error := outcome.exception()) is None:
            continue
        if not isinstance(error, RuntimeEnvironmentError | subprocess.CalledProcessError):
            raise error
        logger.error("%s: %s", name, error)
        failed = True
    return 1 if failed else 0
