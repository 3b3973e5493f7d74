"""The one way the benchmarks time a call: untimed warm-ups, then the median of timed rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], rounds: int, warm_ups: int = 1) -> float:
    """The median wall time of ``action()`` over ``rounds`` calls, after ``warm_ups`` calls
    that are not timed (first-call costs: lazy imports, allocator, caches)."""
    for _ in range(warm_ups):
        action()
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)
