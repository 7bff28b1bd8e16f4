"""Run summary and the terminal progress line (rate and ETA), kept apart from the work loop."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from edge.classifier import Result
from edge.runtime import Kernels
from edge.text import count


@dataclass
class Summary:
    """Counts for the final report and the exit status; `kernels` (what ran the model) gets
    its own line, so a run on the builtin kernels is visible in every log."""

    classified: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_links: int = 0
    already_done: int = 0
    sorted: int = 0
    interrupted: bool = False
    labels: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)
    elapsed: float = 0.0
    kernels: Kernels | None = None
    watching: bool = False
    output: str | None = None
    unreadable_folders: list = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        if result.ok:
            self.classified += 1
            self.labels[result.label] += 1
        else:
            self.failed += 1
            self.failures[result.error_kind] += 1

    @property
    def done(self) -> int:
        return self.classified + self.failed

    def finish(self) -> None:
        self.elapsed = time.perf_counter() - self.started

    @property
    def images_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def lines(self) -> list[str]:
        labels = ", ".join(f"{name} {n}" for name, n in sorted(self.labels.items()))
        lines = [f"classified {count(self.classified, 'image')} in {self.elapsed:.1f} s "
                 f"({self.images_per_second:.1f} images/s)" + (f": {labels}" if labels else "")]
        if self.kernels is not None:
            lines.append(f"model run by {self.kernels.describe()}")
        if self.failed:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.failures.items()))
            lines.append(f"failed {self.failed}: {kinds}")
        for folder, why in self.unreadable_folders[:10]:
            lines.append(f"could not read the folder {folder} ({why}): its images were not "
                         "classified; fix its permissions and run again"
                         + (" with --resume" if self.output else ""))
        if len(self.unreadable_folders) > 10:
            more = len(self.unreadable_folders) - 10
            lines.append(f"... and {count(more, 'more unreadable folder')}")
        for kind, n in sorted(self.unsupported.items()):
            lines.append(f"skipped {count(n, kind + ' photo')}: Pillow cannot read {kind} on this "
                         "installation; install its plugin (pip install pillow-heif) and run "
                         "again, or convert them to JPEG")
        if self.skipped:
            lines.append(f"skipped {count(self.skipped, 'non-image file')}")
        if self.skipped_links:
            lines.append(f"skipped {count(self.skipped_links, 'symlinked folder')} leading "
                         "outside the "
                         "inputs (name a folder on the command line to classify it)")
        if self.already_done:
            lines.append(f"resumed: {count(self.already_done, 'file')} "
                         + ("was" if self.already_done == 1 else "were") + " already done")
        if self.sorted:
            lines.append(f"sorted {count(self.sorted, 'file')}")
        if self.interrupted and self.watching:
            lines.append(f"stopped watching after classifying {count(self.classified, 'image')}"
                         + (f": run again with --resume -o {self.output} to continue where "
                            "this left off" if self.output else ""))
        elif self.interrupted:
            lines.append("interrupted: run again with --resume to finish")
        return lines


def is_terminal(stream: TextIO) -> bool:
    """Whether a person watches `stream` (a progress bar there, a table instead of CSV);
    closed or replaced streams count as not."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """One self-overwriting stderr line, at most 10 times a second; silent when disabled."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.total: int | None = None
        self._last = 0.0
        self._shown = False
        self._lock = threading.Lock()

    def update(self, summary: Summary, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        done = summary.done
        rate = done / (now - summary.started) if now > summary.started else 0.0
        text = f"{done}"
        if self.total is not None and self.total >= done:
            text += f"/{self.total}"
            if rate > 0:
                eta = (self.total - done) / rate
                text += f"  ETA {int(eta // 60)}:{int(eta % 60):02d}"
        text += f"  {rate:.1f} images/s"
        if summary.failed:
            text += f"  {summary.failed} failed"
        with self._lock:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        if self.enabled and self._shown:
            with self._lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False
