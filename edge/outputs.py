"""Result writers (table, csv, jsonl, json) and reading an interrupted run back for --resume.

Every row is written and flushed as soon as it is produced, so a run killed at any moment
leaves every finished row on disk; at most the last line is partial, and `read_rows` drops it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from edge.classifier import Result

# File names on Linux may hold bytes that are not UTF-8: written back byte for byte, so that
# --resume recognises them.
ERRORS = "surrogateescape"
CSV_COLUMNS = ("path", "label", "confidence", "top_class", "top_k", "error_kind", "error_message")


def format_top_k(result: Result) -> str:
    """"cats:0.9961;dogs:0.0039", the CSV form of the top-k list."""
    return ";".join(f"{name}:{p:.4f}" for name, p in result.top_k)


class TableWriter:
    """Aligned human-readable lines for a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, result: Result) -> None:
        if result.ok:
            extra = ""
            if result.label != result.top_class:
                extra = f"  (top: {result.top_class})"
            elif len(result.top_k) > 1:
                extra = "  (" + ", ".join(f"{n} {p:.1%}" for n, p in result.top_k[1:]) + ")"
            line = f"{result.label:<12} {result.confidence:>7.1%}  {result.path}{extra}"
        else:
            error = f"[{result.error_kind}] {result.error_message}"
            line = f"{'ERROR':<12} {'':>7}  {result.path}  {error}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class CsvWriter:
    def __init__(self, stream: TextIO, header: bool = True) -> None:
        self.stream = stream
        self.csv = csv.writer(stream, lineterminator="\n")
        if header:
            self.csv.writerow(CSV_COLUMNS)
            stream.flush()

    def write(self, result: Result) -> None:
        confidence = "" if result.confidence is None else f"{result.confidence:.6f}"
        self.csv.writerow([result.path, result.label or "", confidence, result.top_class or "",
                           format_top_k(result), result.error_kind or "",
                           result.error_message or ""])
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonlWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, result: Result) -> None:
        self.stream.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonWriter:
    """A JSON array written one row per line, closed with "]" on close()."""

    def __init__(self, stream: TextIO, rows_before: int = 0) -> None:
        self.stream = stream
        self.count = rows_before
        if rows_before == 0:
            stream.write("[")
            stream.flush()

    def write(self, result: Result) -> None:
        separator = ",\n" if self.count else "\n"
        self.stream.write(separator + json.dumps(result.to_dict(), ensure_ascii=False))
        self.stream.flush()
        self.count += 1

    def close(self) -> None:
        self.stream.write("\n]\n")
        self.stream.flush()


def open_writer(output: Path | None, fmt: str | None, existing: list[dict] | None = None,
                stdout: TextIO | None = None):
    """A writer for `output` ("-" or None: stdout); with `existing` rows, continue that file.

    Continuing rewrites the file with the rows that were read back complete (atomically, via a
    temporary file), then appends: a partial last line from a killed run disappears.
    """
    stdout = stdout or sys.stdout
    if output is None or str(output) == "-":
        if fmt is None:
            return TableWriter(stdout)
        return _writer(stdout, fmt, 0)
    if existing:
        _rewrite(output, fmt, existing)
        stream = open(output, "a", encoding="utf-8", errors=ERRORS, newline="")
        return _writer(stream, fmt, len(existing), owns=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    stream = open(output, "w", encoding="utf-8", errors=ERRORS, newline="")
    return _writer(stream, fmt, 0, owns=True)


def _writer(stream: TextIO, fmt: str, rows_before: int, owns: bool = False):
    if fmt == "csv":
        writer = CsvWriter(stream, header=rows_before == 0)
    elif fmt == "jsonl":
        writer = JsonlWriter(stream)
    else:
        writer = JsonWriter(stream, rows_before)
    if owns:
        writer.close = _closing(writer.close, stream)
    return writer


def _closing(close, stream: TextIO):
    def both() -> None:
        close()
        stream.close()

    return both


def _rewrite(path: Path, fmt: str, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = _writer(buffer, fmt, 0)
    for row in rows:
        writer.write(_result_from_row(row))
    temp = path.with_name(f".{path.name}.resume-tmp")
    temp.write_text(buffer.getvalue(), encoding="utf-8", errors=ERRORS, newline="")
    os.replace(temp, path)


def read_rows(path: Path, fmt: str) -> list[dict]:
    """The complete rows of an earlier run's output (missing file: none)."""
    try:
        text = path.read_text(encoding="utf-8", errors=ERRORS)
    except FileNotFoundError:
        return []
    if fmt == "json":
        return _json_rows(text)
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if fmt == "csv":
        return [row for row in csv.DictReader(io.StringIO(text, newline="")) if row.get("path")]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _json_rows(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def _result_from_row(row: dict) -> Result:
    """A Result rebuilt from a CSV or JSON row, to write it again in the same format."""
    top_k = row.get("top_k") or ()
    if isinstance(top_k, str):
        pairs = (item.rsplit(":", 1) for item in top_k.split(";") if ":" in item)
        top_k = [(name, float(p)) for name, p in pairs]
    confidence = row.get("confidence")
    probabilities = row.get("probabilities")
    return Result(
        path=row["path"],
        label=row.get("label") or None,
        confidence=float(confidence) if confidence not in (None, "") else None,
        top_k=tuple((str(n), float(p)) for n, p in top_k),
        probabilities=tuple(probabilities) if probabilities else None,
        error_kind=row.get("error_kind") or None,
        error_message=row.get("error_message") or None,
    )


def row_key(path: str | os.PathLike) -> str:
    """How --resume matches a row to a file: the absolute, normalised path."""
    return os.path.normpath(os.path.abspath(path))
