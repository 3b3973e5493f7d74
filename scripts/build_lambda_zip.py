"""Build the Lambda deployment zip reproducibly: same sources, byte-identical zip.

    python scripts/build_lambda_zip.py lambda build/lambda.zip

Only the function's own modules go in (the Python runtime provides boto3); entries are
sorted, timestamps fixed, permissions normalised, and the zip is written then renamed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip can hold


def build(source_dir: Path, output: Path) -> Path:
    modules = sorted(p for p in source_dir.glob("*.py") if p.is_file())
    if not any(p.name == "lambda_function.py" for p in modules):
        raise FileNotFoundError(f"{source_dir} has no lambda_function.py")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for module in modules:
                info = zipfile.ZipInfo(module.name, date_time=FIXED_TIME)
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
