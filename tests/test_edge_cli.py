"""edge-classify end to end: exit codes, outputs, sorting, --resume after SIGKILL, --watch."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from edge import classifier as classifier_module
from tests.cli_helpers import ROOT, csv_rows, invoke, spawn, wait_for, write_images
from tests.edge_helpers import build_model, hostile_folder, save, solid


@pytest.fixture
def model():
    return build_model("int8", 16)





def test_all_good_exits_0_with_csv_when_piped(tmp_path, model):
    result = invoke(write_images(tmp_path / "in"), "--model", model, "--top-k", "2")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [r["label"] for r in rows] == ["cats", "dogs", "cats", "dogs"]
    assert rows[0]["top_k"].startswith("cats:") and ";dogs:" in rows[0]["top_k"]
    assert "classified 4 images" in result.stderr and "cats 2, dogs 2" in result.stderr


def test_no_recursive_and_explicit_files(tmp_path, model):
    folder = write_images(tmp_path / "in", 2)
    write_images(folder / "sub", 2)
    result = invoke(folder, "--model", model, "--no-recursive", "-q")
    assert [Path(r["path"]).name for r in csv_rows(result.stdout)] == ["img 00.jpg", "img 01.jpg"]
    result = invoke(folder / "sub" / "img 01.jpg", folder / "img 00.jpg", "--model", model, "-q")
    assert [r["label"] for r in csv_rows(result.stdout)] == ["dogs", "cats"]
    assert result.stderr == ""


def test_file_names_that_are_not_utf8_survive_output_and_resume(tmp_path, model):
    folder = write_images(tmp_path / "in", 1)
    odd = os.fsencode(folder) + b"/odd \xff name.jpg"
    with open(odd, "wb") as f:
        solid((10, 10, 240)).save(f, "JPEG")
    out = tmp_path / "out.csv"
    assert invoke(folder, "--model", model, "-o", out, "-q").exit_code == 0
    again = invoke(folder, "--model", model, "-o", out, "--resume")
    assert again.exit_code == 0 and "2 files were already done" in again.stderr
    rows = csv_rows(out.read_text(encoding="utf-8", errors="surrogateescape"))
    assert sorted(os.fsencode(r["path"]) for r in rows) == sorted(
        [os.fsencode(folder / "img 00.jpg"), odd])


def test_hostile_files_are_rows_and_exit_1(tmp_path, model):
    expected = hostile_folder(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    result = invoke(tmp_path / "in", "--model", model, "-o", out)
    assert result.exit_code == 1, result.output
    rows = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == set(expected)
    for name, kind in expected.items():
        assert (rows[name]["label"] or rows[name]["error_kind"]) == kind
    assert "skipped 2 non-image files" in result.stderr
    assert "failed 5" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--output", "x.txt"], "cannot tell the format"),
    (["--resume"], "--resume needs --output"),
    (["--threshold", "2"], "--threshold"),
    (["--mode", "move"], "only apply with --sort-into"),
    (["--format", "xml", "-o", "-"], "--format"),
])
def test_usage_errors_exit_2(tmp_path, model, args, message):
    result = invoke(write_images(tmp_path / "in", 1), "--model", model, *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_missing_input_path_exits_2(tmp_path, model):
    result = invoke(tmp_path / "nope", "--model", model)
    assert result.exit_code == 2 and "no such file or folder" in result.stderr


def test_model_problems_exit_3(tmp_path, monkeypatch):
    images = write_images(tmp_path / "in", 1)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"junk" * 100)
    result = invoke(images, "--model", junk)
    assert result.exit_code == 3 and "junk.tflite" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.setattr(classifier_module, "BUNDLED_MODEL", tmp_path / "missing.tflite")
    result = invoke(images)
    assert result.exit_code == 3 and "bundled model" in result.stderr


def test_help_documents_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for code in ("0 every file classified", "1 some files", "2 usage error", "3 the model"):
        assert code in text


def test_threshold_and_stdout_json(tmp_path, model):
    save(solid((128, 128, 128)), tmp_path / "in" / "gray.png")
    result = invoke(tmp_path / "in", "--model", model, "--threshold", "0.9", "-o", "-",
                     "--format", "json")
    (row,) = json.loads(result.stdout)
    assert row["label"] == "uncertain" and row["top_class"] in ("cats", "dogs")


def test_sort_into_copy_and_dry_run(tmp_path, model):
    images = write_images(tmp_path / "in")
    dest = tmp_path / "in" / "sorted"
    dry = invoke(images, "--model", model, "--sort-into", dest, "--mode", "move", "--dry-run",
                  "-q")
    assert dry.exit_code == 0 and not dest.exists()
    assert "would move" in dry.stderr
    result = invoke(images, "--model", model, "--sort-into", dest)
    assert result.exit_code == 0
    assert sorted(p.name for p in (dest / "cats").iterdir()) == ["img 00.jpg", "img 02.jpg"]
    again = invoke(images, "--model", model, "--sort-into", dest)
    assert len(csv_rows(again.stdout)) == 4  # the sorted folder itself is not classified
    assert sorted(p.name for p in (dest / "cats").iterdir()) == [
        "img 00-1.jpg", "img 00.jpg", "img 02-1.jpg", "img 02.jpg"]




@pytest.mark.parametrize("fmt,sig", [("csv", signal.SIGKILL), ("json", signal.SIGKILL),
                                     ("jsonl", signal.SIGINT)])
def test_resume_after_a_kill_gives_exactly_one_row_per_file(tmp_path, model, fmt, sig):
    folder = tmp_path / "many"
    folder.mkdir()
    tiny = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(tiny, "PNG")
    for i in range(1200):
        (folder / f"{i:04d}.png").write_bytes(tiny.getvalue())
    out = tmp_path / f"out.{fmt}"
    process = spawn(folder, "--model", model, "-o", out, "--threads", "1", "--batch", "1")

    def some_rows():
        return out.exists() and out.read_text(encoding="utf-8").count("\n") > 50

    try:
        assert wait_for(some_rows), process.stderr.read() if process.poll() else "no rows"
    finally:
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:  # Ctrl-C: the rows in progress are finished, the file is complete, exit 130
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and out.read_text(encoding="utf-8").endswith("\n")
    resumed = subprocess.run(
        [sys.executable, "-m", "edge", folder, "--model", model, "-o", out, "--resume"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "files were already done" in resumed.stderr
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = csv_rows(text)
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    names = [Path(r["path"]).name for r in rows]
    assert len(names) == 1200 and set(names) == {f"{i:04d}.png" for i in range(1200)}


def test_watch_picks_up_a_new_file_and_ctrl_c_flushes(tmp_path, model):
    folder = write_images(tmp_path / "cam", 1)
    out = tmp_path / "out.jsonl"
    process = spawn(folder, "--model", model, "-o", out, "--watch", "--interval", "0.1",
                     "--settle", "0.2")
    try:
        assert wait_for(lambda: out.exists() and out.read_text().count("\n") == 1)
        save(solid((10, 10, 240)), folder / "new dog.jpg")
        assert wait_for(lambda: out.read_text().count("\n") == 2)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr  # Ctrl-C is how --watch ends, as README says
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["img 00.jpg", "new dog.jpg"]
    assert rows[1]["label"] == "dogs" and "classified 2 images" in stderr


def test_edge_imports_with_tensorflow_keras_matplotlib_blocked():
    code = (
        "import sys\n"
        "for name in ('tensorflow', 'keras', 'matplotlib', 'train', 'export'):\n"
        "    sys.modules[name] = None\n"
        "import edge, edge.cli, edge.run.runner\n"
        "from edge.runtime import find_runtime\n"
        "find_runtime()\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'matplotlib') and sys.modules[m] is not None]\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_only_usage_errors_exit_2(tmp_path, monkeypatch):
    """A ValueError from inside the run is a bug, not a usage error: no 'Try --help', no 2."""
    import edge.run.runner

    def broken(config, stop=None):
        raise ValueError("internal")

    monkeypatch.setattr(edge.run.runner, "run", broken)
    result = invoke(write_images(tmp_path / "in", 1))
    assert result.exit_code != 2 and isinstance(result.exception, ValueError)
