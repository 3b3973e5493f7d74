"""Writing files so that nobody ever sees half of one: atomic writes and reproducible archives.

Standard library only, so build scripts can use it without the ML stack.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from pathlib import Path


def _default_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: readers never see half a file. The
    file gets the permissions a plain write would give it (mkstemp's are owner-only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp_name))
        os.chmod(tmp_name, _default_mode())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def package_files(package_dir: Path, prefix: str) -> dict[str, bytes]:
    """Every file of a package folder, recursively, as ``prefix/relative/path`` -> bytes,
    leaving out byte-code caches and hidden files: what ships is the whole package."""
    package_dir = Path(package_dir)
    members = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if not path.is_file() or path.suffix == ".pyc":
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        members[f"{prefix}/{relative.as_posix()}"] = path.read_bytes()
    return members


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    archive.addfile(info, io.BytesIO(data))


def write_tar_gz(
    members: dict[str, bytes], output: Path, executable: frozenset[str] = frozenset()
) -> Path:
    """A reproducible .tar.gz: sorted entries, fixed times and owners, written atomically."""

    def write(tmp: Path) -> None:
        # mtime=0 and no file name in the gzip header too, so equal inputs give equal bytes.
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
        ):
            for name in sorted(members):
                _add_bytes(archive, name, members[name], 0o755 if name in executable else 0o644)

    atomic_write(Path(output), write)
    return Path(output)
