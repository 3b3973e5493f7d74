"""Set one variable (and drop another) in a Terraform variables file, so that Terraform reads
the value exactly as written.

Terraform decides a file's syntax by its name ("-var-file" and the ``.auto.tfvars.json``
rule of "Input Variables", Terraform language docs), and so does this module:

- a name ending in ``.json`` is a JSON object, whose strings Terraform takes literally;
  it is written back whole, each other value exactly as it was (a number that would not
  survive a round trip through JSON is refused);
- any other name (``terraform.tfvars``, ``*.auto.tfvars``) is native HCL: only the variable's
  own line changes, and only when it is a one-line string or ``null``. The value becomes an
  HCL string literal: quotes, backslashes and non-printing characters escaped, and the
  template sequences ``${`` and ``%{`` written ``$${`` and ``%%{``, or Terraform would
  evaluate them ("Strings and Templates").

Terraform normalizes every string to Unicode NFC: a value that is not NFC would be read as
another string (another S3 key), so it is refused, as is one that is not Unicode text (a
lone surrogate, from command-line bytes that are not UTF-8).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ml.files import atomic_write
from mlops import JobsError
from mlops.inputs import parse_json, read_text

FLAG = "--tfvars"
# HCL native syntax's escapes in quoted strings ("Strings and Templates").
NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What this module replaces in a native file: a one-line string or null, then a comment.
ONE_LINE_VALUE = re.compile(r'[ \t]*(null|"(?:[^"\\\n]|\\.)*")[ \t]*((#|//).*)?\r?')


def check_value(name: str, value: str) -> None:
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise JobsError(f"{name} {value!r} is not Unicode text (bytes that are not UTF-8?)")
    if not unicodedata.is_normalized("NFC", value):
        raise JobsError(
            f"{name} {value!r} is not in Unicode NFC form: Terraform would read it as "
            f"{unicodedata.normalize('NFC', value)!r}"
        )


def _escape(char: str) -> str:
    if char in NAMED_ESCAPES:
        return NAMED_ESCAPES[char]
    if char.isprintable() or char == " ":
        return char
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def hcl_string(value: str) -> str:
    """``value`` as an HCL quoted string that Terraform reads back as exactly ``value``."""
    escaped = "".join(_escape(char) for char in value)
    return '"' + escaped.replace("${", "$${").replace("%{", "%%{") + '"'


def assignment(name: str, value: str) -> str:
    """``name = "value"``, a line of a ``.tfvars`` file."""
    check_value(name, value)
    return f"{name} = {hcl_string(value)}"


def _assignments(text: str, name: str) -> list[re.Match]:
    """The lines assigning ``name``; each must be one we can replace exactly."""
    found = list(re.finditer(rf"^([ \t]*){re.escape(name)}[ \t]*=(.*)$", text, re.MULTILINE))
    if len(found) > 1:
        raise JobsError(f"{name} is assigned {len(found)} times; keep one assignment")
    if found and not ONE_LINE_VALUE.fullmatch(found[0].group(2)):
        raise JobsError(
            f"{name} is not a one-line string or null here: change it by hand, or remove it"
        )
    return found


def without(text: str, names: tuple[str, ...]) -> tuple[str, bool]:
    """Native HCL ``text`` with ``names`` assigned no more; and whether any was."""
    removed = False
    for remove in names:
        if _assignments(text, remove):
            removed = True
            text = re.sub(rf"^[ \t]*{re.escape(remove)}[ \t]*=.*(\n|\Z)", "", text, flags=re.M)
    return text, removed


def set_variable(
    text: str, name: str, value: str, remove: str | tuple[str, ...] | None = None
) -> tuple[str, bool]:
    """Native HCL ``text`` with ``name`` set to ``value`` and ``remove`` (one name or several)
    assigned no more, every other line as it was; and whether any of ``remove`` was."""
    line = assignment(name, value)
    text, removed = without(text, _names(remove))
    found = _assignments(text, name)
    if found:
        match = found[0]
        end = "\r" if match.group(2).endswith("\r") else ""
        text = text[: match.start()] + match.group(1) + line + end + text[match.end() :]
    else:
        text += ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    return text, removed


def _names(remove: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if remove is None:
        return ()
    return (remove,) if isinstance(remove, str) else tuple(remove)


def _exact_float(text: str) -> float:
    """A JSON number that ``json.dumps`` writes back as the same number, or ValueError."""
    number = float(text)
    if not math.isfinite(number) or Decimal(repr(number)) != Decimal(text):
        raise ValueError(f"the number {text[:40]} would not be written back exactly")
    return number


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"{name} is assigned {names.count(name)} times; keep one assignment")
    return dict(pairs)


def _json_constant(text: str) -> object:
    raise ValueError(f"{text} is not a number Terraform reads")


def set_json_variable(
    text: str, name: str | None, value: str, remove: str | tuple[str, ...] | None, what: str
) -> tuple[str, bool]:
    """A ``.tfvars.json`` file's ``text`` with ``name`` set (None: nothing set) and ``remove``
    (one name or several) gone; and whether any of ``remove`` was there."""
    if name is not None:
        check_value(name, value)
    variables = {}
    if text.strip():
        variables = parse_json(
            text,
            what,
            parse_float=_exact_float,
            parse_constant=_json_constant,
            object_pairs_hook=_unique,
        )
    if not isinstance(variables, dict):
        raise JobsError(f"{what}: expected a JSON object of variables")
    removed = any(gone in variables for gone in _names(remove))
    for gone in _names(remove):
        variables.pop(gone, None)
    if name is not None:
        variables[name] = value
    return json.dumps(variables, indent=2, ensure_ascii=False) + "\n", removed


@dataclass(frozen=True)
class Update:
    """A variables file's new text, ready to write once everything else has succeeded."""

    path: Path
    text: str
    removed: bool

    def write(self) -> None:
        data = self.text.encode("utf-8")
        try:
            atomic_write(self.path, lambda tmp: tmp.write_bytes(data))
        except OSError as error:
            raise JobsError(f"{FLAG} {self.path}: cannot write it ({error.strerror})") from None


def unset(path: Path, name: str) -> Update:
    """The file at ``path`` with ``name`` assigned no more (``removed``: whether it was)."""
    path = Path(path)
    text = read_text(path, FLAG, missing_ok=True)
    what = f"{FLAG} {path}"
    try:
        if path.name.endswith(".json"):
            return Update(path, *set_json_variable(text, None, "", name, what))
        return Update(path, *without(text, (name,)))
    except JobsError as error:
        raise JobsError(f"{what}: {error}") from None


def update(
    path: Path, name: str, value: str, remove: str | tuple[str, ...] | None = None
) -> Update:
    """The file at ``path`` (or a new one) with ``name = value`` and none of ``remove``."""
    path = Path(path)
    text = read_text(path, FLAG, missing_ok=True)
    what = f"{FLAG} {path}"
    if path.name.endswith(".json"):
        return Update(path, *set_json_variable(text, name, value, remove, what))
    try:
        return Update(path, *set_variable(text, name, value, remove))
    except JobsError as error:
        raise JobsError(f"{what}: {error}") from None
