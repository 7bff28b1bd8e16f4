"""The machine a bench ran on: CPU model, load average, and the CPU other processes used.

The 1-minute load average is recorded with every figure, but it lags and counts the bench's
own contenders; `BusyCpu` measures what matters for one contender: CPU time spent by anything
else while it ran (all busy time from /proc/stat minus the contender's and this process's).
"""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

QUIET_LOAD = 0.5


def cpu_model() -> str:
    """`model name` from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def settle(threshold: float, max_wait: float, poll: float = 2.0) -> tuple[float, float, float]:
    """Wait (at most `max_wait` s) for the 1-minute load to fall to `threshold`: a contender
    that just ended keeps it up for a minute. Returns the load when done waiting."""
    deadline = time.monotonic() + max_wait
    now = load()
    while now[0] > threshold and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        now = load()
    return now


def _busy_seconds() -> float | None:
    """CPU seconds all processes have been busy since boot (user, nice, system, irq, steal)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BusyCpu:
    """Cores' worth of CPU used by other processes between `__init__` and `others()`."""

    def __init__(self) -> None:
        self._busy, self._own, self._start = _busy_seconds(), _own_seconds(), time.monotonic()

    def others(self, child_cpu_s: float) -> float | None:
        busy, wall = _busy_seconds(), time.monotonic() - self._start
        if busy is None or self._busy is None or wall <= 0:
            return None
        other = busy - self._busy - child_cpu_s - (_own_seconds() - self._own)
        return max(0.0, other / wall)
