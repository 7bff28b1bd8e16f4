"""Run one contender process and measure it: output times, first result, peak RSS, its CPU
seconds, and the CPU other processes used meanwhile.

Kept apart from __main__ so the measuring code is small enough to check by reading.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from .machine import BusyCpu
from .report import Measurement


def spawn(argv: list[str], images: int, edge_rows: bool, log: Path) -> Measurement:
    """Run one contender; time its output lines as they arrive.

    `edge_rows`: each stdout line after the CSV header is one result (edge-classify);
    otherwise the process prints `first T K` and `end T N` (scripts/bench/workers.py).
    Exit status 1 is accepted (edge-classify's "some files failed") if every image has a row.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    with open(log, "w") as errors:
        busy = BusyCpu()
        start = time.time()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=env, text=True)
        peak = PeakMemory(proc.pid)
        first = last = None
        rows = first_count = 0
        header = edge_rows
        for line in proc.stdout:
            now = time.time()
            if edge_rows:
                if header:
                    header = False
                    continue
                rows += 1
                first, first_count = (first, first_count) if first else (now, 1)
                last = now
            elif line.startswith("first "):
                first, first_count = float(line.split()[1]), int(line.split()[2])
            elif line.startswith("end "):
                last, rows = float(line.split()[1]), int(line.split()[2])
        peak.stop()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        end = time.time()
    cpu_s = usage.ru_utime + usage.ru_stime
    others = busy.others(cpu_s)
    failed = proc.returncode not in (0, 1) or rows != images or first is None
    note = _failure(log, proc.returncode, rows, images) if failed else ""
    steady = rows - first_count
    rate = steady / (last - first) if not failed and steady > 0 and last > first else None
    if rate is None and not failed:  # everything came in the first batch (a --quick Keras run)
        rate, note = rows / (last - start), "one batch: rate includes startup"
    rss_kb = peak.kb if peak.kb is not None else usage.ru_maxrss
    return Measurement(images=rows, rate=rate, rss_mb=rss_kb / 1024,
                       first_s=(first - start) if first else None, wall_s=end - start, note=note,
                       cpu_s=cpu_s, others_cpu=others)


class PeakMemory:
    """Polls /proc/PID/status VmHWM, the process's own RSS high-water mark.

    wait4's ru_maxrss is no use here: Linux carries the parent's high-water mark across
    fork and exec, so every child would report at least this process's peak.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.kb: int | None = None
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            self._read()
            self._done.wait(self._interval)
        self._read()

    def _read(self) -> None:
        try:
            text = self._path.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                self.kb = max(self.kb or 0, int(line.split()[1]))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _failure(log: Path, code: int, rows: int, images: int) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    tail = lines[-1][:120] if lines else ""
    return f"failed (exit {code}, {rows}/{images} results) {tail} [log: {log}]"
