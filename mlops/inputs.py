"""The files an operator names (``--terraform-outputs``, ``--tfvars``), read so that whatever
is wrong with one (a directory, bytes that are not UTF-8, JSON nested or numbered beyond what
can be read) is a one-line ``JobsError`` naming the file, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from mlops import JobsError

# Python refuses to convert longer integer strings (sys.get_int_max_str_digits()).
LONGEST_INTEGER = 4300


def read_text(path: Path, what: str, missing_ok: bool = False) -> str:
    """The file's text, decoded as UTF-8 (what Terraform reads); "" for a missing file when
    ``missing_ok``."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise JobsError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise JobsError(f"{what} {path}: a directory, not a file") from None
    except OSError as error:
        raise JobsError(f"{what} {path}: cannot read it ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JobsError(f"{what} {path}: not UTF-8 text (byte {error.start})") from None


def integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > LONGEST_INTEGER:
        raise ValueError(f"a number of {digits} digits, more than the {LONGEST_INTEGER} read")
    return int(text)


def parse_json(text: str, what: str, **hooks) -> object:
    """``json.loads``, with every way it can fail as one line naming ``what``. ``hooks`` are
    json.loads' own (``parse_float``...): a ``ValueError`` raised in one says what is wrong."""
    hooks.setdefault("parse_int", integer)
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as error:
        raise JobsError(f"{what}: not JSON ({error})") from None
    except RecursionError:
        raise JobsError(f"{what}: JSON nested too deeply to read") from None
    except ValueError as error:
        raise JobsError(f"{what}: {error}") from None
