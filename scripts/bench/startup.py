"""Start-up timings for `make bench`: `edge-classify --help`, a one-image run, and the
serverless handler's cold start. Each is short and noisy, so each is the median of repeats.

The cold start is what `make lambda-check` (scripts/check_lambda_zip.py) prints: seconds to
`from edge import serverless` plus `serverless.get_worker()` (config, model load, boto3 S3
client), here in a fresh process of this venv rather than the unpacked zip under Python 3.12.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .spawn import spawn

COLD_START = """
import json, time
started = time.perf_counter()
from edge import serverless
imported = time.perf_counter()
worker = serverless.get_worker()
loaded = time.perf_counter()
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported,
                  "kernels": worker.classifier.kernels.describe()}))
"""
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "LOG_LEVEL": "WARNING"}


@dataclass(frozen=True)
class Startup:
    """Medians over `repeats`; None where it could not run (see `notes`)."""

    repeats: int
    help_s: float | None = None
    one_image_first_s: float | None = None
    one_image_wall_s: float | None = None
    one_image_rss_mb: float | None = None
    cold_import_s: float | None = None
    cold_load_s: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def cold_start_s(self) -> float | None:
        if self.cold_import_s is None or self.cold_load_s is None:
            return None
        return self.cold_import_s + self.cold_load_s


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(edge: list[str], one_image: Path, model: Path, repeats: int, logs: Path) -> Startup:
    """`edge`: the argv that starts edge-classify; `one_image`: a folder holding one image."""
    notes: list[str] = []
    helps, firsts, walls, rss = [], [], [], []
    colds: list[dict] = []
    for i in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([*edge, "--help"], capture_output=True)
        if done.returncode == 0:
            helps.append(time.perf_counter() - start)
        run = spawn([*edge, str(one_image), "--model", str(model), "--quiet"], 1, True,
                    logs / f"one-image-{i}.log")
        if run.first_s is not None:
            firsts.append(run.first_s)
            walls.append(run.wall_s)
            rss.append(run.rss_mb)
        elif run.note not in notes:
            notes.append(f"one image: {run.note}")
        cold = _cold_start(model)
        if "error" in cold:
            notes.append(f"cold start: {cold['error']}")
            break
        colds.append(cold)
    if colds:
        notes.append(f"cold start model run by {colds[0]['kernels']}")
    return Startup(repeats, _median(helps), _median(firsts), _median(walls), _median(rss),
                   _median([c["import_s"] for c in colds]),
                   _median([c["load_s"] for c in colds]), tuple(notes))


def _cold_start(model: Path) -> dict:
    env = {**os.environ, **FAKE_AWS, "MODEL_PATH": str(model)}
    done = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True,
                          env=env, timeout=120)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return {"error": f"failed ({last}); needs boto3 (pip install -e '.[dev]')"}
    return json.loads(done.stdout.strip().splitlines()[-1])
