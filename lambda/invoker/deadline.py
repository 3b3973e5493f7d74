"""Work that must end by a wall-clock deadline however slowly its I/O goes: a socket read
that gets a byte just before each read timeout never times out, so checking the clock between
reads is not enough."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineError(Exception):
    """The work did not finish in time; it was told to stop and is no longer waited for."""


def run_within(work: Callable[[], T], seconds: float, stop: Callable[[], None]) -> T:
    """``work()``'s result or exception, if it finishes within ``seconds``. Otherwise
    ``stop()`` (which should cut the work's I/O short) and DeadlineError: the work goes on
    in a daemon thread, which nothing waits for."""
    outcome: queue.Queue = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            outcome.put((True, work()))
        except BaseException as error:  # handed to the caller's thread, raised there
            outcome.put((False, error))

    threading.Thread(target=run, name="input-read", daemon=True).start()
    try:
        succeeded, result = outcome.get(timeout=seconds)
    except queue.Empty:
        stop()
        raise DeadlineError from None
    if not succeeded:
        raise result
    return result
