"""Helpers for the edge-classify CLI tests: in-process runs, subprocess runs, generated photos."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from edge.cli import app
from tests.edge_helpers import save, solid

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def write_images(folder, n=4, prefix="img"):
    """n solid JPEGs, red (cats) and blue (dogs) in turn."""
    for i in range(n):
        color = (240, 10, 10) if i % 2 == 0 else (10, 10, 240)
        save(solid(color), folder / f"{prefix} {i:02d}.jpg")
    return folder


def spawn(*args, cwd=ROOT, **kwargs):
    """`python -m edge ARGS` as a child process, for signals and concurrent runs."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "edge", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
