"""ClassifyConfig: the output format it infers and the usage errors it raises (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import STDOUT, ClassifyConfig
from edge.errors import EdgeError, UsageError


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "in").mkdir()
    return tmp_path / "in"


@pytest.mark.parametrize("output,fmt,expected", [
    (None, None, None),
    (STDOUT, None, None),
    (STDOUT, "jsonl", "jsonl"),
    (Path("rows.CSV"), None, "csv"),
    (Path("rows.ndjson"), None, "jsonl"),
    (Path("rows.json"), "csv", "csv"),
    (Path("rows"), None, None),
])
def test_output_format_comes_from_format_then_extension(output, fmt, expected):
    config = ClassifyConfig(paths=(), output=output, format=fmt)
    assert config.output_format() == expected


def test_the_defaults_are_valid(folder):
    ClassifyConfig(paths=(folder,)).validate()


@pytest.mark.parametrize("options,message", [
    ({"output": Path("rows.txt")}, "cannot tell the format of rows.txt"),
    ({"format": "xml"}, "--format must be one of csv, jsonl, json"),
    ({"mode": "rename", "sort_into": Path("s")}, "--mode must be one of copy, move, link"),
    ({"resume": True}, "--resume needs --output FILE"),
    ({"resume": True, "output": STDOUT}, "--resume needs --output FILE"),
    ({"threshold": 1.5}, "--threshold must be between 0 and 1"),
    ({"top_k": 0}, "--top-k, --batch and --threads must be at least 1"),
    ({"batch": 0}, "--top-k, --batch and --threads must be at least 1"),
    ({"threads": 0}, "--top-k, --batch and --threads must be at least 1"),
    ({"dry_run": True}, "only apply with --sort-into"),
    ({"mode": "move"}, "only apply with --sort-into"),
    ({"watch_interval": 0}, "--interval must be above 0"),
    ({"watch_settle": -1}, "--settle at least 0"),
])
def test_inconsistent_options_are_usage_errors(folder, options, message):
    with pytest.raises(UsageError, match=message) as raised:
        ClassifyConfig(paths=(folder,), **options).validate()
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, EdgeError)


def test_missing_inputs_are_named(folder, tmp_path):
    config = ClassifyConfig(paths=(folder, tmp_path / "gone.jpg", tmp_path / "nope"))
    with pytest.raises(UsageError, match="no such file or folder: .*gone.jpg, .*nope"):
        config.validate()


def test_a_dangling_symlink_is_an_input_not_a_missing_path(folder, tmp_path):
    link = tmp_path / "dangling.jpg"
    link.symlink_to(tmp_path / "absent.jpg")
    ClassifyConfig(paths=(link,)).validate()
