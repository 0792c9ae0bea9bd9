"""How the benchmarks time and measure, in one place (each script imports it from its own folder).

    seconds, value = timed(fn)              # one call, wall clock
    seconds = median_seconds(fn, repeats)   # one untimed warm call (trace, allocate), then the median
    mib = peak_rss_mib()                    # this process's peak resident memory so far

A call that returns a tensor is timed only once its value is on the host: pass a function that
calls .numpy() (or float()) on it, or the time is that of launching the work.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(seconds of one call of fn, what it returned)."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median_seconds(fn: Callable[[], object], repeats: int, warm: bool = True) -> float:
    """The median of `repeats` timed calls of fn, after one untimed call when `warm`."""
    if warm:
        fn()
    return statistics.median(timed(fn)[0] for _ in range(max(1, repeats)))


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB: VmHWM where /proc has it (Linux), else
    getrusage's ru_maxrss. VmHWM first: a child started with fork + exec inherits its parent's
    ru_maxrss, so a small script run from a large benchmark would report the benchmark's peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux (macOS: bytes)
