"""A subcommand of ``python -m mlops``: its name, its help, the option groups it shares with
other commands, its own options and the function that runs it. Each command's module declares
it next to that function; ``cli`` builds the parser from them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

Options = Callable[[argparse.ArgumentParser], None]


def no_options(parser: argparse.ArgumentParser) -> None:
    """A command that takes only the option groups it shares."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    # (aws, stack, args, now) -> what the command did, for the tests and the log
    run: Callable[..., str]
    options: Options = no_options
    # Shared option groups besides the common ones (cli.SHARED_OPTIONS): "jobs", "registry".
    shares: tuple[str, ...] = ()
