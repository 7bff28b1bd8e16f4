"""Side-by-side study of edge's thread layout: which split of the cores classifies a folder
fastest, whole process included. Not a benchmark of record (that is `make bench`); it is how
the layout in `edge.classifier` was chosen, kept so that it can be re-run on a device.

    python scripts/edge_layout.py FOLDER [--rounds 3]

Every contender is a fresh child process over the same files, in interleaved rounds; the
table gives medians of wall time, CPU time and peak RSS, with the load average before and
after (a figure measured on a busy machine says so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# name: (interpreter threads, decoder threads, batch, decode in processes)
CONTENDERS = {
    "interp 1 + 2 decoder threads, batch 8 (before)": (1, 2, 8, False),
    "interp 2 + 2 decoder threads, batch 8": (2, 2, 8, False),
    "interp 2 + 1 decoder thread, batch 8": (2, 1, 8, False),
    "interp 1 + 2 decoder threads, batch 1": (1, 2, 1, False),
    "interp 1 + 2 decoder threads, batch 4": (1, 2, 4, False),
    "interp 1 + 2 decoder threads, batch 16": (1, 2, 16, False),
    "interp 1 + 2 decoder processes, batch 8": (1, 2, 8, True),
}


_loader = None


def _load(path: str):
    return _loader(path)


def child(folder: str, interp: int, decoders: int, batch: int, processes: bool) -> None:
    """One contender: classify every .jpg under `folder` and print the row count."""
    from edge.classifier import Classifier

    paths = sorted(str(p) for p in Path(folder).rglob("*.jpg"))
    classifier = Classifier(num_threads=interp)
    if not processes:
        rows = sum(1 for _ in classifier.classify_paths(paths, batch_size=batch,
                                                        workers=decoders))
    else:
        import multiprocessing

        import numpy as np

        global _loader
        _loader = classifier.load
        rows = 0
        with multiprocessing.get_context("fork").Pool(decoders) as pool:
            pixels = pool.imap(_load, paths, chunksize=batch)
            chunk = []
            for array in pixels:
                chunk.append(array)
                if len(chunk) == batch:
                    rows += len(classifier.predict(np.stack(chunk)))
                    chunk = []
            if chunk:
                rows += len(classifier.predict(np.stack(chunk)))
    print(rows)


def measure(folder: str, setup: tuple) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process."""
    argv = [sys.executable, __file__, folder, "--child", json.dumps(setup)]
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    rows = process.stdout.read().strip()
    process.stdout.close()
    if status != 0 or not rows:
        raise SystemExit(f"contender {setup} failed (status {status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated contender numbers (1-based)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.folder, *json.loads(args.child))
        return
    chosen = list(CONTENDERS)
    if args.only:
        chosen = [chosen[int(i) - 1] for i in args.only.split(",")]
    load_before = os.getloadavg()
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in chosen}
    for _ in range(args.rounds):
        for name in chosen:
            setup = CONTENDERS[name]
            results[name].append(measure(args.folder, setup))
    load_after = os.getloadavg()
    images = sum(1 for _ in Path(args.folder).rglob("*.jpg"))
    print(f"{images} images, {os.cpu_count()} cores, median of {args.rounds} interleaved rounds;"
          f" load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'contender':<50}{'wall s':>8}{'CPU s':>8}{'img/s':>8}{'peak MB':>9}")
    for name, runs in results.items():
        wall, cpu, rss = (statistics.median(v) for v in zip(*runs, strict=True))
        print(f"{name:<50}{wall:8.2f}{cpu:8.2f}{images / wall:8.0f}{rss:9.0f}")


if __name__ == "__main__":
    main()
