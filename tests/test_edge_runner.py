"""edge.run.runner.run, the Python API under edge-classify: rows, summary, refusals, --resume."""

from __future__ import annotations

import csv
import io
import json
import threading

import pytest

from edge.config import STDOUT, ClassifyConfig
from edge.errors import ResumeError, UsageError
from edge.run.runner import run
from edge.run.runrecord import RunRecord
from tests.edge_helpers import build_model, save, solid


@pytest.fixture
def model():
    return build_model("int8", 16)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    save(solid((250, 10, 10)), folder / "red.jpg")
    save(solid((10, 10, 250)), folder / "blue.png")
    (folder / "broken.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image\n")
    return folder


def _run(config, **kwargs):
    stdout, stderr = io.StringIO(), io.StringIO()
    summary = run(config, stdout=stdout, stderr=stderr, **kwargs)
    return summary, stdout.getvalue(), stderr.getvalue()


def test_a_run_writes_one_row_per_image_and_counts_them(photos, model):
    summary, out, _ = _run(ClassifyConfig(paths=(photos,), model=model, output=STDOUT))
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"red.jpg", "blue.png", "broken.jpg"}
    assert (rows["red.jpg"]["label"], rows["blue.png"]["label"]) == ("cats", "dogs")
    assert rows["broken.jpg"]["error_kind"] == "empty"
    assert (summary.classified, summary.failed, summary.skipped) == (2, 1, 1)
    assert summary.labels == {"cats": 1, "dogs": 1} and not summary.interrupted


def test_piped_output_without_a_format_is_csv_and_jsonl_follows_the_extension(photos, model,
                                                                               tmp_path):
    _, out, _ = _run(ClassifyConfig(paths=(photos / "red.jpg",), model=model))
    assert out.splitlines()[0].startswith("path,label,confidence")
    target = tmp_path / "rows.jsonl"
    _run(ClassifyConfig(paths=(photos,), model=model, output=target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 3
    assert RunRecord.load(target).output_format == "jsonl"


def test_resume_skips_the_files_already_written(photos, model, tmp_path):
    target = tmp_path / "rows.csv"
    _run(ClassifyConfig(paths=(photos / "red.jpg",), model=model, output=target))
    summary, _, _ = _run(ClassifyConfig(paths=(photos,), model=model, output=target,
                                        resume=True))
    assert (summary.already_done, summary.classified + summary.failed) == (1, 2)
    assert len(list(csv.DictReader(target.open()))) == 3


def test_resume_refuses_a_file_written_in_another_format(photos, model, tmp_path):
    target = tmp_path / "rows.csv"
    _run(ClassifyConfig(paths=(photos,), model=model, output=target))
    with pytest.raises(ResumeError):
        _run(ClassifyConfig(paths=(photos,), model=model, output=target, format="jsonl",
                            resume=True))


def test_an_output_that_is_an_input_image_is_refused_before_anything_runs(photos, model):
    red = photos / "red.jpg"
    before = red.read_bytes()
    with pytest.raises(UsageError, match="is one of the input images"):
        _run(ClassifyConfig(paths=(photos,), model=model, output=red, format="csv"))
    assert red.read_bytes() == before


def test_a_sort_folder_holding_an_input_is_refused(photos, model):
    with pytest.raises(UsageError, match="holds the input"):
        _run(ClassifyConfig(paths=(photos / "red.jpg",), model=model, sort_into=photos))


def test_sorting_places_each_classified_image_under_its_label(photos, model, tmp_path):
    sorted_into = tmp_path / "sorted"
    summary, _, _ = _run(ClassifyConfig(paths=(photos,), model=model, output=STDOUT,
                                        sort_into=sorted_into))
    assert summary.sorted == 2
    assert sorted(p.relative_to(sorted_into).as_posix() for p in sorted_into.rglob("*.*")) == [
        "cats/red.jpg", "dogs/blue.png"]
    assert (photos / "red.jpg").exists()


def test_a_stop_set_before_the_run_classifies_nothing_and_says_interrupted(photos, model):
    stop = threading.Event()
    stop.set()
    summary, _, _ = _run(ClassifyConfig(paths=(photos,), model=model, output=STDOUT), stop=stop)
    assert summary.done == 0 and summary.interrupted
