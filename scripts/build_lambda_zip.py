"""Build the Lambda deployment zip reproducibly: same sources, byte-identical zip.

    python scripts/build_lambda_zip.py lambda build/lambda.zip

All the function's own modules go in, its packages' included (``invoker/``), and nothing else
(the Python runtime provides boto3); entries are sorted by path, timestamps fixed,
permissions normalised, and the zip is written then renamed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip can hold


def modules_of(source_dir: Path) -> dict[str, Path]:
    """Every Python module under ``source_dir``, by its path in the zip, in sorted order."""
    found = {
        path.relative_to(source_dir).as_posix(): path
        for path in source_dir.rglob("*.py")
        if path.is_file() and "__pycache__" not in path.parts
    }
    return dict(sorted(found.items()))


def build(source_dir: Path, output: Path) -> Path:
    modules = modules_of(source_dir)
    if "lambda_function.py" not in modules:
        raise FileNotFoundError(f"{source_dir} has no lambda_function.py")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, module in modules.items():
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, module.read_bytes())
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", type=Path, help="folder with lambda_function.py")
    parser.add_argument("output", type=Path, help="zip file to write")
    args = parser.parse_args()
    try:
        path = build(args.source_dir, args.output)
    except FileNotFoundError as error:
        parser.error(str(error))
    sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main()
