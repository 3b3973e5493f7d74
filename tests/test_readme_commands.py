"""Every shell command in every README runs as written.

Each ```bash block of each README is parsed into commands. Every command must start with a
program the prerequisites provide (make, terraform, the project's virtual environment, a few
shell built-ins and curl: no AWS CLI), name existing make targets, Python modules and flags,
and hold no placeholder. Blocks preceded by ``<!-- readme-test: run N -->`` are also run, in
the order of N, in a fresh copy of the repository, and must succeed without a traceback.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.training import REPO_ROOT, python_env, run_module

FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUN_MARK = re.compile(
    r"<!-- readme-test: run (\d+) -->\n```bash\n(.*?)^```", re.MULTILINE | re.DOTALL
)
OPERATORS = {"&&", "||", ";", "|", "(", ")"}
SHELL_PROGRAMS = {"cd", "cp", "export", "curl"}
PYTHONS = {".venv/bin/python", "../.venv/bin/python"}
TERRAFORM_COMMANDS = {"init", "plan", "apply", "destroy", "output", "fmt", "validate", "test"}


def readmes() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "*README.md", "README.md"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(REPO_ROOT / name for name in tracked)


def lex(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def commands_of(block: str) -> list[list[str]]:
    """The block's commands as token lists: continuations joined, quotes spanning lines kept
    together, comments dropped, split at ``&&``, ``;``, ``|`` and parentheses."""
    commands: list[list[str]] = []
    pending = ""
    for line in block.replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            tokens = lex(pending)
        except ValueError:  # a quote still open: the command goes on
            continue
        pending = ""
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token in OPERATORS:
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
    assert not pending, f"unclosed quote in:\n{block}"
    return commands


@dataclass(frozen=True)
class Block:
    readme: Path
    text: str

    @property
    def name(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"{self.readme.relative_to(REPO_ROOT)}: {first[:60]}"


def all_blocks() -> list[Block]:
    return [
        Block(readme, m.group(1))
        for readme in readmes()
        for m in FENCE.finditer(readme.read_text())
    ]


@functools.cache
def make_targets() -> set[str]:
    makefile = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z][a-zA-Z_-]*):", makefile, re.MULTILINE))


@functools.cache
def help_text(module: str, subcommand: str | None) -> str:
    result = run_module(module, *([subcommand] if subcommand else []), "--help")
    assert result.returncode == 0, f"python -m {module} --help failed:\n{result.stderr[-2000:]}"
    return result.stdout


def subcommands(module: str) -> set[str]:
    usage = help_text(module, None)
    choices = re.search(r"\{([a-z0-9_,-]+)\}", usage)
    return set(choices.group(1).split(",")) if choices else set()


# Modules that hand the arguments after ``--`` to another module.
PASSES_ARGUMENTS_TO = {"ml.sweep": "ml.train"}


def check_python_module(tokens: list[str]) -> None:
    module = tokens[0]
    assert module.split(".")[0] in {"ml", "mlops", "local_stack", "iam_policies"}, (
        f"unexpected module {module}"
    )
    arguments = tokens[1:]
    if "--" in arguments:
        split = arguments.index("--")
        assert module in PASSES_ARGUMENTS_TO, f"python -m {module} takes no arguments after --"
        check_python_module([PASSES_ARGUMENTS_TO[module], *arguments[split + 1 :]])
        arguments = arguments[:split]
    positional = [a for a in arguments if not a.startswith("-")]
    sub = positional[0] if positional and positional[0] in subcommands(module) else None
    text = help_text(module, sub)
    for argument in arguments:
        if not argument.startswith("--"):
            continue
        flag = argument.split("=", 1)[0]
        if flag.startswith("--no-"):
            flag = "--" + flag.removeprefix("--no-")  # booleans list only their positive form
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (
            f"python -m {module}{' ' + sub if sub else ''} has no option {argument}"
        )


OUTPUT_REFERENCE = re.compile(r"terraform(?: -chdir=\S+)? output -(?:raw|json) ([a-z0-9_]+)")


@functools.cache
def terraform_outputs() -> set[str]:
    text = (REPO_ROOT / "terraform" / "outputs.tf").read_text()
    return set(re.findall(r'^output "([a-z0-9_]+)"', text, re.MULTILINE))


@functools.cache
def sample_files() -> set[str]:
    """What `make sample-data` writes under build/sample/, by running its command."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    arguments = re.search(r"-m local_stack.demo.sample_data \$\(DATA\) (.*)$", makefile, re.M)[1]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "sample"
        subprocess.run(
            [sys.executable, "-m", "local_stack.demo.sample_data", str(root), *arguments.split()],
            cwd=REPO_ROOT,
            env=python_env(),
            capture_output=True,
            check=True,
            timeout=300,
        )
        return {f"build/sample/{p.relative_to(root).as_posix()}" for p in root.rglob("*.jpg")}


def check_references(tokens: list[str]) -> None:
    """`$(terraform output -raw NAME)` names a root output; `curl --data-binary @FILE` a file
    that exists or that `make sample-data` writes."""
    for token in tokens:
        for name in OUTPUT_REFERENCE.findall(token):
            assert name in terraform_outputs(), f"terraform/outputs.tf has no output {name}"
    if tokens[0] == "curl":
        for token in tokens:
            if token.startswith("@"):
                path = token[1:]
                assert (REPO_ROOT / path).is_file() or path in sample_files(), (
                    f"curl reads {path}, which neither exists nor is made by make sample-data"
                )


def check_command(tokens: list[str]) -> None:
    assert "..." not in tokens, f"a placeholder is not a command: {shlex.join(tokens)}"
    check_references(tokens)
    program, arguments = tokens[0], tokens[1:]
    if program == "make":
        targets = [a for a in arguments if "=" not in a and not a.startswith("-")]
        assert targets, "name the make target"
        assert set(targets) <= make_targets(), f"no such make target in {targets}"
    elif program == "terraform":
        command = next(a for a in arguments if not a.startswith("-"))
        assert command in TERRAFORM_COMMANDS, f"terraform {command}?"
    elif program in PYTHONS:
        if arguments[0] == "-c":
            compile(arguments[1], "<readme>", "exec")
        else:
            assert arguments[0] == "-m", shlex.join(tokens)
            check_python_module(arguments[1:])
    elif program == ".venv/bin/torchrun":
        check_python_module(arguments[arguments.index("-m") + 1 :])
    else:
        assert program in SHELL_PROGRAMS, (
            f"{program!r}: README commands may use only make, terraform, the virtual "
            f"environment and {sorted(SHELL_PROGRAMS)} (the prerequisites)"
        )


@pytest.mark.unit
@pytest.mark.parametrize("block", all_blocks(), ids=lambda block: block.name)
def test_every_readme_command_names_what_exists(block: Block):
    commands = commands_of(block.text)
    assert commands, "an empty bash block"
    for tokens in commands:
        check_command(tokens)


@pytest.mark.unit
def test_the_parser_sees_every_command():
    block = "(cd terraform && terraform apply)   # comment\nmake a \\\n  b\necho 'x\ny' z\n"
    assert commands_of(block) == [
        ["cd", "terraform"],
        ["terraform", "apply"],
        ["make", "a", "b"],
        ["echo", "x\ny", "z"],
    ]


def runnable_blocks() -> list[str]:
    marked = [
        (int(m.group(1)), m.group(2))
        for readme in readmes()
        for m in RUN_MARK.finditer(readme.read_text())
    ]
    return [text for _, text in sorted(marked)]


@pytest.mark.integration
@pytest.mark.slow
def test_the_quick_readme_commands_run_in_order_on_a_fresh_copy(tmp_path: Path):
    """Sample data, train, package, train again with other flags (DDP), then `make sample-data
    train package` with the Makefile's own settings: no run meets another's checkpoint."""
    blocks = runnable_blocks()
    assert len(blocks) >= 2
    copy = tmp_path / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in tracked:
        if not (REPO_ROOT / name).is_file():
            continue  # deleted in the working tree
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, copy / name)  # mtimes kept: make sees the venv current
    for venv in (".venv", ".venv-iac"):
        (copy / venv).symlink_to(REPO_ROOT / venv)
    env = {**python_env(), "PYTHONPATH": str(copy)}
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("#", 1)[0].strip()
            if not command:
                continue
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            output = result.stdout + result.stderr
            assert result.returncode == 0, f"{command}\n{output[-4000:]}"
            assert "Traceback" not in output, f"{command}\n{output[-4000:]}"
    assert (copy / "build" / "model.tar.gz").is_file()
    assert len(list((copy / "build" / "checkpoints").iterdir())) == 2
