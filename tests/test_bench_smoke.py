"""`python -m scripts.bench --quick` runs end to end on generated images and a tiny model;
the docs/bench.md update refuses a run on a loaded machine and writes between its markers.

No timing is asserted (performance claims come from `make bench` itself): only that every
contender gets a row in the table on both image sets, with numbers where it could run.
MediaPipe is used when PAWLITE_MEDIAPIPE_PYTHON names a python that has it; otherwise its row
must say "not installed".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.bench.goals import GOALS
from tests.edge_helpers import build_model
from tests.imagegen import make_dataset

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ("a edge-classify", "b keras predict", "c naive loop", "d mediapipe tasks")


def tiny_keras(path: Path, size: int) -> Path:
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.GlobalMaxPooling2D()(keras.layers.Conv2D(4, 3)(x))
    keras.Model(inputs, keras.layers.Dense(2)(x)).save(path)
    return path


@pytest.mark.slow
def test_quick_bench_prints_every_row(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=1, n_val=4)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "scripts.bench", "--quick",
            "--data-dir", str(data), "--model", str(build_model("int8", size=16)),
            "--keras-model", str(tiny_keras(tmp_path / "tiny.keras", 16)),
            "--count", "6", "--large-count", "3", "--large-size", "320x240", "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]) for line in table}
    assert {row for row in rows if row[1] in CONTENDERS} == {
        (s, c) for s in ("validation", "0.1 MP") for c in CONTENDERS}
    checks = [line for line in done.stdout.splitlines() if line[:4] in ("PASS", "FAIL", "n/a ")]
    assert len(checks) == len(GOALS)
    assert [line for line in checks if "not measured" in line and "MediaPipe" not in line] == []
    assert "load average" in done.stdout and "machine: " in done.stdout
    report = json.loads((out / "bench.json").read_text())
    for set_name, results in report["results"].items():
        for name in CONTENDERS[:3]:
            assert results[name]["images"] == (6 if set_name == "validation" else 3)
            assert results[name]["rate"] > 0 and results[name]["rss_mb"] > 0
            assert results[name]["cpu_s"] > 0 and results[name]["load_before"] >= 0
        mediapipe = results[CONTENDERS[3]]
        if report["mediapipe_python"] is None:
            assert mediapipe["note"].startswith("not installed")
        else:
            assert mediapipe["rate"] > 0, mediapipe["note"]


def test_the_workers_module_starts_on_the_standard_library_alone():
    """The MediaPipe contender runs workers.py by path under another venv's python: without
    site-packages (-S) and without the checkout on sys.path (-I) it must still start."""
    done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "scripts" / "bench" /
                                                         "workers.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("usage: workers.py {keras|naive|mediapipe} MODEL FOLDER")


def test_the_doc_table_is_refused_on_a_loaded_machine_and_written_when_quiet(tmp_path):
    from scripts.bench.report import MARKERS, Measurement, refusal, write_between_markers

    quiet = Measurement(images=4, rate=10.0, wall_s=1.0, load_before=0.2, others_cpu=0.1)
    report = {"load_start": (0.3, 0.4, 0.5), "results": {"validation": {"a": quiet}}}
    assert refusal(report) is None
    busy = {"validation": {"a": quiet, "b": Measurement(load_before=0.9, others_cpu=0.7)}}
    reason = refusal({"load_start": (0.6, 0.4, 0.5), "results": busy})
    assert reason.startswith("above 0.5: load average 0.60 at the start")
    assert "load 0.90 before validation / b" in reason and "0.70 cores during" in reason
    readme = tmp_path / "bench.md"
    prose = f"the table lies between `{MARKERS[0]}` and `{MARKERS[1]}`\n"
    readme.write_text(f"{prose}{MARKERS[0]}\nold\ntable\n{MARKERS[1]}\noutro\n")
    write_between_markers(readme, "new table")
    assert readme.read_text() == f"{prose}{MARKERS[0]}\nnew table\n{MARKERS[1]}\noutro\n"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench-table:start --> ... "):
        write_between_markers(readme, "x")


def test_docs_bench_states_the_goals_the_tool_checks():
    """docs/bench.md lists the goals in words; each limit there must be the one goals.py holds."""
    text = (ROOT / "docs" / "bench.md").read_text()
    section = text[text.index("## Goals"):text.index("## The table on this page")]
    stated = " ".join(section.split())
    for goal in GOALS:
        sign = ">=" if goal.at_least else "<="
        unit = {"x": "x", " s": " s", " MB": " MB", " images/s": ""}[goal.unit]
        assert f"{sign} {goal.limit:g}{unit}" in stated, goal
