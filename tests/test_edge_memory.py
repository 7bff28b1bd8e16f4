"""Peak memory of edge-classify does not grow with the folder: 5,000 photos fit in what 500
need (decoded images of every size come and go; see edge.run.heap)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import ROOT


def _photos(folder, count: int, seed: int):
    """Noisy JPEGs of many sizes (60 to 500 pixels a side), like a folder of real photos."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    base = rng.integers(0, 256, (500, 500, 3), dtype=np.uint8)
    for i in range(count):
        width, height = (int(v) for v in rng.integers(60, 501, 2))
        top, left = (int(v) for v in rng.integers(0, 501 - max(width, height) + 1, 2))
        tile = base[top:top + height, left:left + width]
        Image.fromarray(tile).save(folder / f"p{i:05d}.jpg", quality=80)
    return folder


def _peak_rss_mb(folder, out) -> float:
    process = subprocess.Popen([sys.executable, "-m", "edge", str(folder), "-o", str(out), "-q"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert os.waitstatus_to_exitcode(status) == 0, stderr
    assert sum(1 for _ in open(out)) == len(os.listdir(folder)) + 1
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_peak_memory_is_flat_from_500_to_5000_photos(tmp_path):
    small = _peak_rss_mb(_photos(tmp_path / "500", 500, seed=1), tmp_path / "500.csv")
    large = _peak_rss_mb(_photos(tmp_path / "5000", 5000, seed=2), tmp_path / "5000.csv")
    assert large <= 1.10 * small, (small, large)


@pytest.mark.slow
def test_watch_memory_is_flat_over_100000_files(tmp_path):
    """Files pass through a watched folder (arrive, are read, are moved away) 1,000 at a time:
    what the watch remembers follows the folder, not the 100,000 files it has seen."""
    import threading
    import tracemalloc

    from edge.run.files import watch

    folder = tmp_path / "incoming"
    folder.mkdir()
    seen: dict = {}
    stop = threading.Event()
    batch, total, read = 1000, 100_000, 0
    sizes = {}
    tracemalloc.start()
    try:
        files = watch([folder], seen, stop, interval=0.001)
        for start in range(0, total, batch):
            names = [folder / f"IMG_{start + i:06d}.jpg" for i in range(batch)]
            for path in names:
                path.write_bytes(b"\xff\xd8\xff")
            for _ in range(batch):
                next(files).unlink()  # --mode move takes each file away once it is read
                read += 1
            if read in (10_000, total):
                edge_only = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(True, "*/edge/*")])
                sizes[read] = sum(stat.size for stat in edge_only.statistics("filename"))
    finally:
        stop.set()
        tracemalloc.stop()
    assert read == total
    assert len(seen) <= batch
    assert sizes[total] - sizes[10_000] < 100_000, sizes
