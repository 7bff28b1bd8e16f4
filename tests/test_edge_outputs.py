"""edge.run.outputs: every format parses back; partial files from a killed run are repaired."""

import csv
import io
import json

import pytest

from edge.classifier import Result
from edge.run.outputs import TableWriter, open_writer, read_output, read_rows

ROWS = [
    Result("a, \"quoted\".jpg", "cats", 0.75, (("cats", 0.75), ("dogs", 0.25)), (0.75, 0.25)),
    Result("dir/ü b.png", "uncertain", 0.5, (("dogs", 0.5), ("cats", 0.5)), (0.5, 0.5)),
    Result("bad.jpg", error_kind="truncated", error_message="truncated image data"),
]


def _write(path, fmt, rows=ROWS, existing=None):
    writer = open_writer(path, fmt, existing)
    for row in rows:
        writer.write(row)
    writer.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_formats_parse_back(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    _write(path, fmt)
    rows = read_rows(path, fmt)
    assert [r["path"] for r in rows] == [r.path for r in ROWS]
    if fmt == "csv":
        parsed = list(csv.DictReader(path.open(encoding="utf-8")))
        assert parsed[0]["top_k"] == "cats:0.7500;dogs:0.2500"
        assert parsed[1]["label"] == "uncertain" and parsed[1]["top_class"] == "dogs"
        assert parsed[2]["error_kind"] == "truncated" and parsed[2]["label"] == ""
    elif fmt == "json":
        parsed = json.loads(path.read_text(encoding="utf-8"))
        assert parsed == [r.to_dict() for r in ROWS]
    else:
        parsed = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert parsed == [r.to_dict() for r in ROWS]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_partial_last_row_is_dropped_and_continuing_gives_valid_file(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    _write(path, fmt)
    data = path.read_bytes()
    last = data.rindex(b"bad.jpg")
    path.write_bytes(data[:last + 3])  # killed in the middle of the last row
    existing, kept = read_output(path, fmt)
    assert [r["path"] for r in existing] == [ROWS[0].path, ROWS[1].path]
    _write(path, fmt, ROWS[2:], kept)
    again = read_rows(path, fmt)
    assert [r["path"] for r in again] == [r.path for r in ROWS]
    if fmt == "json":
        assert len(json.loads(path.read_text(encoding="utf-8"))) == 3
    if fmt == "csv":
        assert path.read_text(encoding="utf-8").count("path,label") == 1


def test_missing_file_has_no_rows(tmp_path):
    assert read_rows(tmp_path / "none.csv", "csv") == []


def test_stdout_and_table(tmp_path):
    out = io.StringIO()
    writer = open_writer(None, "jsonl", None, out)
    writer.write(ROWS[0])
    assert json.loads(out.getvalue())["label"] == "cats"
    table = io.StringIO()
    writer = TableWriter(table)
    for row in ROWS:
        writer.write(row)
    lines = table.getvalue().splitlines()
    assert lines[0].startswith("cats") and "75.0%" in lines[0] and "dogs 25.0%" in lines[0]
    assert "(top: dogs)" in lines[1]
    assert lines[2].startswith("ERROR") and "[truncated]" in lines[2]
