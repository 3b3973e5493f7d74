"""Write the inputs/outputs tables of every Terraform module's README (like terraform-docs).

    python scripts/terraform_docs.py          # rewrite the tables in place
    python scripts/terraform_docs.py --check  # exit 1 when a README is out of date

The tables live between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``; the rest of
each README is hand-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

TERRAFORM = Path(__file__).resolve().parent.parent / "terraform"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)


def _blocks(directory: Path, kind: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(directory.glob("*.tf")):
        with open(path) as handle:
            for block in hcl2.load(handle, serialization_options=OPTIONS).get(kind, []):
                found.update(block)
    return found


def _cell(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.removeprefix("${").removesuffix("}") if text.startswith("${") else text
    return " ".join(text.split()).replace("|", "\\|")


def tables(directory: Path) -> str:
    lines = ["## Inputs", "", "| name | type | default | description |"]
    lines.append("| --- | --- | --- | --- |")
    for name, body in _blocks(directory, "variable").items():
        default = "required" if "default" not in body else f"`{_cell(body['default'])}`"
        if "default" in body and body["default"] is None:
            default = "`null`"
        elif body.get("default") == "":
            default = '`""`'
        lines.append(
            f"| `{name}` | `{_cell(body['type'])}` | {default} | {_cell(body['description'])} |"
        )
    lines += ["", "## Outputs", "", "| name | description |", "| --- | --- |"]
    for name, body in _blocks(directory, "output").items():
        lines.append(f"| `{name}` | {_cell(body['description'])} |")
    return "\n".join(lines)


def render(readme: Path) -> str:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} lacks the {BEGIN} / {END} markers")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{tables(readme.parent)}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale READMEs")
    args = parser.parse_args()
    readmes = [
        TERRAFORM / "README.md",
        TERRAFORM / "bootstrap" / "README.md",
        *sorted(TERRAFORM.glob("modules/*/README.md")),
        *sorted(TERRAFORM.glob("examples/*/README.md")),
    ]
    stale = []
    for readme in readmes:
        updated = render(readme)
        if updated != readme.read_text():
            stale.append(readme)
            if not args.check:
                readme.write_text(updated)
    for readme in stale:
        sys.stdout.write(f"{'stale' if args.check else 'updated'}: {readme}\n")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
