"""Result writers (table, csv, jsonl, json) and reading an interrupted run back for --resume.

Every row is written and flushed as soon as it is produced, so a run killed at any moment
leaves every finished row on disk; at most the last line is partial, and `read_rows` drops it.
A JSON file is closed with "]" after every row (the next row overwrites it), so it is a valid
array even after `kill -9`. Any other damage is an error naming the line, never a guess.
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
from edge.config import STDOUT
from edge.errors import ResumeError
from edge.run.files import file_key

# File names on Linux may hold bytes that are not UTF-8: written back byte for byte, so that
# --resume recognises them.
ERRORS = "surrogateescape"
_CLOSE = "\n]\n"
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
    """A JSON array written one row per line. In a file (`keep_closed`) each row is written
    together with the closing "]" in one write, and the next row overwrites that "]"; on a
    pipe the "]" comes on close()."""

    def __init__(self, stream: TextIO, keep_closed: bool = False,
                 continuing: bool = False) -> None:
        self.stream = stream
        self.count = int(continuing)
        self.keep_closed = keep_closed
        if not continuing:
            stream.write("[")
        stream.flush()
        self._end = stream.tell() if keep_closed else None
        self._append("")

    def write(self, result: Result) -> None:
        separator = ",\n" if self.count else "\n"
        self._append(separator + json.dumps(result.to_dict(), ensure_ascii=False))
        self.count += 1

    def _append(self, text: str) -> None:
        if not self.keep_closed:
            self.stream.write(text)
            self.stream.flush()
            return
        try:
            self.stream.seek(self._end)
            self.stream.write(text + _CLOSE)
            self.stream.flush()
        except OSError:
            self._repair()
            raise
        self._end += len(text.encode(self.stream.encoding, self.stream.errors))

    def _repair(self) -> None:
        """After a failed write (disk full), cut the file back to its last whole row and close
        the array, so it stays valid JSON; what the stream still buffers goes nowhere."""
        fd = self.stream.fileno()
        try:
            os.ftruncate(fd, self._end)
            os.pwrite(fd, _CLOSE.encode(), self._end)
        except OSError:
            pass
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)

    def close(self) -> None:
        if not self.keep_closed:
            self.stream.write(_CLOSE)
        self.stream.flush()


def open_writer(output: Path | None, fmt: str | None, kept: str | None = None,
                stdout: TextIO | None = None):
    """A writer for `output` ("-" or None: stdout); with `kept` (the text of at least one
    complete row of an earlier run, as `read_output` returns it), continue that file.

    Continuing copies those rows byte for byte into a temporary file (a row is never parsed
    and written again, so no name can be changed by the round trip), puts it in place of
    `output` atomically and goes on writing there: a partial last row from a killed run
    disappears, and an interruption meanwhile leaves the old file whole.
    """
    stdout = stdout or sys.stdout
    if output is None or Path(output) == STDOUT:
        if fmt is None:
            return TableWriter(stdout)
        return _writer(stdout, fmt)
    output.parent.mkdir(parents=True, exist_ok=True)
    if not kept:
        stream = open(output, "w", encoding="utf-8", errors=ERRORS, newline="")
        return _writer(stream, fmt, owns=True)
    temp = output.with_name(f".{output.name}.resume-tmp")
    stream = open(temp, "w", encoding="utf-8", errors=ERRORS, newline="")
    try:
        stream.write(kept)
        writer = _writer(stream, fmt, owns=True, continuing=True)
        os.replace(temp, output)
    except BaseException:
        stream.close()
        temp.unlink(missing_ok=True)
        raise
    return writer


def _writer(stream: TextIO, fmt: str, owns: bool = False, continuing: bool = False):
    """`continuing`: `stream` holds rows already (no CSV header, no "[" again)."""
    if fmt == "csv":
        writer = CsvWriter(stream, header=not continuing)
    elif fmt == "jsonl":
        writer = JsonlWriter(stream)
    else:
        writer = JsonWriter(stream, keep_closed=owns, continuing=continuing)
    if owns:
        writer.close = _closing(writer.close, stream)
    return writer


def _closing(close, stream: TextIO):
    def both() -> None:
        close()
        stream.close()

    return both


def read_rows(path: Path, fmt: str) -> list[dict]:
    """The complete rows of an earlier run's output (missing file: none)."""
    return read_output(path, fmt)[0]


def read_output(path: Path, fmt: str) -> tuple[list[dict], str]:
    """(the complete rows of an earlier run's output, their text as written); missing file:
    none.

    A partial last row (a run killed mid-write, even inside a quoted name holding a newline)
    is dropped; any other text that is not a row raises ResumeError with the file and line
    number, as does a file in another format.
    """
    try:
        text = path.read_text(encoding="utf-8", errors=ERRORS)
    except FileNotFoundError:
        return [], ""
    except UnicodeError:
        raise _damaged(path, 1, "not a text file") from None
    found = sniff_format(text)
    if found is None:
        return [], ""
    if found != fmt:
        raise ResumeError(
            f"{path} holds {found.upper()} rows, not {fmt.upper()}: resume with --format "
            f"{found} (the format it was written in), or write to a new --output.")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if not text.strip():
        return [], ""
    if fmt == "csv":
        return _csv_rows(path, text)
    return _json_rows(path, text, fmt)


def sniff_format(text: str) -> str | None:
    """csv, jsonl or json by the first character our writers put there; None when empty."""
    head = text.lstrip()[:1]
    if not head:
        return None
    return {"[": "json", "{": "jsonl"}.get(head, "csv")


def _csv_rows(path: Path, text: str) -> tuple[list[dict], str]:
    consumed = 0

    def lines():
        nonlocal consumed
        for line in io.StringIO(text, newline=""):
            consumed += len(line)
            yield line

    reader = csv.reader(lines())
    header = next(reader, None)
    if tuple(header or ()) != CSV_COLUMNS:
        raise _damaged(path, 1, f"the header is not {','.join(CSV_COLUMNS)}")
    rows, end = [], consumed
    while True:
        start = consumed
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            if consumed >= len(text):
                break
            raise _damaged(path, reader.line_num, f"not a CSV row ({e})") from None
        complete = len(record) == len(CSV_COLUMNS) and record[0]
        if consumed >= len(text) and (not complete or _csv_line(record) != text[start:]):
            break  # cut by a kill inside a quoted field: dropped, and redone
        if not complete:
            raise _damaged(path, reader.line_num, "not a row of 7 columns with a path")
        rows.append(dict(zip(CSV_COLUMNS, record, strict=True)))
        end = consumed
    return rows, text[:end]


def _csv_line(record: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(record)
    return buffer.getvalue()


def _json_rows(path: Path, text: str, fmt: str) -> tuple[list[dict], str]:
    rows, end, offset = [], 0, 0
    for number, raw in enumerate(io.StringIO(text, newline="\n"), 1):
        start, offset = offset, offset + len(raw)
        line = raw.strip()
        if fmt == "json":
            if line in ("", "[", "]", "[]"):
                if line == "[" and not rows:
                    end = start + raw.index("[") + 1
                continue
            line = line.rstrip(",")
        elif not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise _damaged(path, number, f"not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("path"), str) or not row["path"]:
            raise _damaged(path, number, 'not a result row (an object with a "path")')
        rows.append(row)
        end = start + raw.index(line) + len(line) if fmt == "json" else offset
    return rows, text[:end]


def _damaged(path: Path, line: int, why: str) -> ResumeError:
    return ResumeError(
        f"{path}, line {line}: {why}. --resume only continues a file edge-classify wrote: "
        "repair or delete that line, or move the file away and run without --resume.")


def row_key(path: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """How --resume matches a row to a file: its resolved path (`base`: the folder relative
    paths were written from), so another working folder or spelling still matches."""
    return file_key(path, base)
