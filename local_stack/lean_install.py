"""Install requirements into a virtual environment without what only a GPU runs, in little disk.

PyPI's torch wheels for Linux x86_64 are CUDA builds: pip brings triton, a compiler of GPU
kernels (0.6-0.9 GB per environment; torch imports it only when it is there), and the CUDA
libraries, which ``import torch`` loads even on a CPU. The project's environments run torch on
CPUs, and the four of them took about 20 GB, with as much again of wheels held while pip
installs: this resolves the requirements as pip would (or takes a lock of that resolution),
then installs exactly that set without triton, the torch and CUDA wheels two at a time so that
no more than two of them wait on disk. ``cpu_only`` also removes cuDNN's kernel libraries, which its
loader (``libcudnn.so.9``, kept) opens only when a GPU runs a convolution: for the parity
environments, which reproduce CPU runtimes for tests on CPUs, never for ``.venv``, where a
data scientist may train on a GPU.

    python -m local_stack.lean_install VENV_PYTHON [--lock FILE] REQUIREMENT ...   # -r FILE too

With ``--lock``, the pins come from FILE when it was written for these requirement files (a
sha256 of them in its header), with no resolution (pip's resolving is most of a minute); when
it is missing or was written for other requirements, they are resolved and FILE is rewritten.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

LEFT_OUT = frozenset({"triton"})
CUDNN_KERNEL_LIBRARIES = "nvidia/cudnn/lib/libcudnn_*.so*"
PIP = ["-m", "pip", "install", "--disable-pip-version-check"]


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(pin: str) -> str:
    return canonical(pin.split("==", 1)[0])


def is_heavy(pin: str) -> bool:
    """torch and the CUDA libraries: 0.1 to 1 GB each as wheels, about 3 GB together."""
    return name_of(pin) == "torch" or name_of(pin).startswith("nvidia-")


def pins_to_install(report: dict) -> list[str]:
    """``name==version`` of each distribution a ``pip install --report`` would install, less
    those left out."""
    return [
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in report["install"]
        if canonical(item["metadata"]["name"]) not in LEFT_OUT
    ]


def resolve(python: str, requirements: list[str], pip_options: list[str]) -> list[str]:
    """The pins pip would install for ``requirements`` into a new environment, less those left
    out; nothing is installed."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        dry_run = ["--quiet", "--dry-run", "--ignore-installed", "--report", str(report)]
        subprocess.run([python, *PIP, *pip_options, *dry_run, *requirements], check=True)
        return pins_to_install(json.loads(report.read_text()))


def light_and_heavy(pins: list[str]) -> tuple[list[str], list[str]]:
    """``pins`` apart: the light ones, installed together, and the heavy ones, each alone."""
    return [pin for pin in pins if not is_heavy(pin)], [pin for pin in pins if is_heavy(pin)]


def install_pins(python: str, pins: list[str], *, pip_options: list[str]) -> None:
    """Exactly ``pins``, no dependencies of theirs: the light ones in one pip call first, then
    each heavy one in a call of its own, two at a time (two wheels on disk at most, two
    downloads at once)."""
    light, heavy = light_and_heavy(pins)
    logger.info(
        "installing %d distributions in %d pip calls (left out: %s)",
        len(pins),
        bool(light) + len(heavy),
        ", ".join(sorted(LEFT_OUT)),
    )

    def pip(batch: list[str]) -> None:
        subprocess.run([python, *PIP, *pip_options, "--no-deps", *batch], check=True)

    if light:
        pip(light)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(pip, [[pin] for pin in heavy]))  # a failed call's error is raised here


def install(
    python: str, requirements: list[str], *, pip_options: list[str], cpu_only: bool = False
) -> None:
    """``pip install REQUIREMENTS`` into the environment of ``python``, triton left out."""
    install_pins(python, resolve(python, requirements, pip_options), pip_options=pip_options)
    if cpu_only:
        remove_cudnn_kernels(site_packages(python))


def site_packages(python: str) -> Path:
    found = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def remove_cudnn_kernels(site_packages: Path) -> int:
    """Delete cuDNN's kernel libraries from an environment; the bytes freed."""
    freed = 0
    for library in site_packages.glob(CUDNN_KERNEL_LIBRARIES):
        freed += library.stat().st_size
        library.unlink()
    if freed:
        logger.info("removed cuDNN's GPU kernel libraries: %.1f GiB", freed / 2**30)
    return freed


LOCK_DIGEST = "# requirements sha256: "


def requirements_digest(requirements: list[str]) -> str:
    """A sha256 of the requirement files (``-r FILE``) and requirements given, and of the
    platform and Python they resolve on (a lock of Linux x86_64's CUDA wheels is no macOS's)."""
    digest = hashlib.sha256(
        f"{sys.platform} {platform.machine()} {sys.version_info[0]}.{sys.version_info[1]}".encode()
    )
    for index, requirement in enumerate(requirements):
        if requirement == "-r":
            continue
        is_file = index > 0 and requirements[index - 1] == "-r"
        digest.update(Path(requirement).read_bytes() if is_file else requirement.encode())
    return digest.hexdigest()


def read_lock(lock: Path, digest: str) -> list[str] | None:
    """The lock's pins, or None when it is missing or was written for other requirements."""
    if not lock.is_file():
        return None
    lines = lock.read_text().splitlines()
    if f"{LOCK_DIGEST}{digest}" not in lines:
        return None
    return [line for line in lines if line and not line.startswith("#")]


def write_lock(lock: Path, digest: str, pins: list[str], requirements: list[str]) -> None:
    """The pins, under a header naming what they resolve; written whole, then renamed."""
    header = [
        f"# Every distribution pip resolves for {' '.join(requirements)} on Python "
        f"{sys.version_info.major}.{sys.version_info.minor}, {sys.platform} "
        f"{platform.machine()}, less {', '.join(sorted(LEFT_OUT))} (local_stack/lean_install.py).",
        "# Rewritten by `make setup` when the requirements or the platform change.",
        f"{LOCK_DIGEST}{digest}",
    ]
    partial = lock.with_name(f".{lock.name}.partial")
    partial.write_text("\n".join(header + sorted(pins, key=name_of)) + "\n")
    os.replace(partial, lock)


def locked_or_resolved(
    python: str, requirements: list[str], lock: Path, pip_options: list[str]
) -> list[str]:
    """The lock's pins when it was written for ``requirements``, else pip's resolution of
    them, written to the lock."""
    digest = requirements_digest(requirements)
    pins = read_lock(lock, digest)
    if pins is not None:
        logger.info("installing the %d distributions of %s", len(pins), lock)
        return pins
    logger.info("%s is missing or was written for other requirements: resolving anew", lock)
    pins = resolve(python, requirements, pip_options)
    write_lock(lock, digest, pins, requirements)
    logger.info("wrote %s (%d distributions)", lock, len(pins))
    return pins


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    python, *requirements = sys.argv[1:] if argv is None else argv
    pip_options = ["--progress-bar", "off"]
    if requirements[:1] == ["--lock"]:
        lock, requirements = Path(requirements[1]), requirements[2:]
        pins = locked_or_resolved(python, requirements, lock, pip_options)
        install_pins(python, pins, pip_options=pip_options)
    else:
        install(python, requirements, pip_options=pip_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
