"""Set one variable in a Terraform ``.tfvars`` file, leaving every other line as it was."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ml.files import atomic_write
from mlops import JobsError


def assignment(name: str, value: str) -> str:
    return f"{name} = {json.dumps(value)}"  # a JSON string is a valid HCL string literal


def set_variable(text: str, name: str, value: str) -> str:
    existing = re.compile(rf"^([ \t]*){re.escape(name)}[ \t]*=.*$", re.MULTILINE)
    matches = existing.findall(text)
    if len(matches) > 1:
        raise JobsError(f"{name} is assigned {len(matches)} times; keep one assignment")
    line = assignment(name, value)
    if matches:
        return existing.sub(lambda match: match.group(1) + line, text)
    return text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"


def write_variable(path: Path, name: str, value: str) -> None:
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    updated = set_variable(text, name, value)
    atomic_write(path, lambda tmp: tmp.write_text(updated))


def remove_variable(path: Path, name: str) -> bool:
    """Drop ``name``'s assignment from the file, if it has one; whether it had."""
    path = Path(path)
    if not path.exists():
        return False
    text = path.read_text()
    existing = re.compile(rf"^[ \t]*{re.escape(name)}[ \t]*=.*\n?", re.MULTILINE)
    if not existing.search(text):
        return False
    updated = existing.sub("", text)
    atomic_write(path, lambda tmp: tmp.write_text(updated))
    return True
