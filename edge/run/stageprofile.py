"""`edge-classify --profile`: CPU milliseconds per image for each stage, so speed work is aimed.

Each stage is timed with `time.thread_time` in the thread that runs it (decoders run in
parallel, so wall time cannot be split by stage) and summed over threads. The interpreter's
own worker threads (XNNPACK's pool) are native threads Python cannot time: on Linux their CPU
is read from /proc/self/task at the end of the run and added to the interpreter stage.
"other" is the rest of the process CPU over the run (model load, discovery, queues).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from edge.text import count

STAGES = ("decode", "resize", "interpreter", "output")
T = TypeVar("T")


class StageProfile:
    """Thread-safe CPU-time totals per stage, for one run."""

    def __init__(self) -> None:
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self.runtime_threads: int | None = None
        self._timed_threads: set[int] = set()
        self._lock = threading.Lock()
        self._process_start = time.process_time()
        self._wall_start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            spent = time.thread_time() - start
            with self._lock:
                self.cpu[name] += spent
                self._timed_threads.add(threading.get_native_id())

    def timed(self, items: Iterable[T], name: str) -> Iterator[T]:
        """Yield `items`, charging to `name` the caller's CPU between one item and the next:
        the work its loop body does on each item."""
        for item in items:
            start = time.thread_time()
            yield item
            spent = time.thread_time() - start
            with self._lock:
                self.cpu[name] += spent

    def add_runtime_threads(self) -> None:
        """Add the CPU of the threads Python did not start (call while the interpreter lives)."""
        # A decoder thread can still be listed in /proc after Python let it go: the threads
        # that ran a stage are never the runtime's, alive in Python or not.
        with self._lock:
            ours = self._timed_threads | {t.native_id for t in threading.enumerate()}
        native = _native_thread_cpu(ours)
        if native is not None:
            seconds, self.runtime_threads = native
            with self._lock:
                self.cpu["interpreter"] += seconds

    def lines(self, images: int) -> list[str]:
        """The report: one line per stage, then the rest of the process CPU and the total."""
        process = time.process_time() - self._process_start
        wall = time.perf_counter() - self._wall_start
        per_image = 1000.0 / max(1, images)
        threads = ("calling thread only: no /proc here" if self.runtime_threads is None
                   else f"calling thread + {self.runtime_threads} runtime thread"
                   + ("" if self.runtime_threads == 1 else "s"))
        notes = {"decode": "open, decode, EXIF turn, RGB", "resize": "to the model input",
                 "interpreter": threads, "output": "scores, rows, sorting"}
        out = [f"profile: {count(images, 'image')}, CPU ms per image (all threads)"]
        out += [f"  {name:<12}{self.cpu[name] * per_image:8.2f}  {notes[name]}" for name in STAGES]
        other = max(0.0, process - sum(self.cpu.values()))
        out.append(f"  {'other':<12}{other * per_image:8.2f}  model load, discovery, queues")
        out.append(f"  {'total':<12}{process * per_image:8.2f}  process CPU over the run "
                   f"({process:.2f} s CPU in {wall:.2f} s wall)")
        return out


def _native_thread_cpu(python_threads: set[int | None]) -> tuple[float, int] | None:
    """(CPU seconds, count) of this process's live threads that Python did not start."""
    try:
        tasks = os.listdir("/proc/self/task")
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    total, count = 0.0, 0
    for task in tasks:
        if int(task) in python_threads:
            continue
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        count += 1
    return total, count
