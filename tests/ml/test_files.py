"""ml.files: what ships of a package folder, and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.files import atomic_write, package_files

pytestmark = pytest.mark.unit


def test_package_files_take_the_whole_package_without_caches(tmp_path: Path):
    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "module.py").write_text("X = 1\n")
    (package / "requirements.txt").write_text("numpy\n")
    (package / "sub" / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"\0")
    (package / "stale.pyc").write_bytes(b"\0")
    (package / ".module.py.swp").write_bytes(b"\0")
    assert package_files(package, "code/pkg") == {
        "code/pkg/__init__.py": b"",
        "code/pkg/requirements.txt": b"numpy\n",
        "code/pkg/sub/module.py": b"X = 1\n",
    }


def test_atomic_write_leaves_nothing_behind_when_the_writer_fails(tmp_path: Path):
    target = tmp_path / "out" / "file.txt"

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, fail)
    assert list((tmp_path / "out").iterdir()) == []
