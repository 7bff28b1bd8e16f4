"""What `edge-classify --eval` shows and writes: the terminal report and the per-file rows."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import TextIO

from edge.config import STDOUT
from edge.evaluation.evalresult import OTHER, EvalResult, Outcome
from edge.text import count

COLUMNS = ("path", "true", "predicted", "confidence", "correct", "error_kind", "error_message",
           "placed")
_OUTSIDE_LISTED = 10


def format_report(result: EvalResult) -> str:
    """Accuracy, per-class precision and recall, the confusion matrix, the misclassified and
    the unreadable files, as plain aligned text."""
    lines = [f"model     {result.model_name}",
             "folders   " + ", ".join(name if name == label else f"{name} -> {label}"
                                      for name, label in result.folders)]
    evidence = result.evidence()
    lines.append(f"accuracy  {evidence.figure() if evidence else '- (no image scored)'}"
                 + (f"; {len(result.failed)} could not be read" if result.failed else ""))
    lines += ["", *_per_class(result), "", *_matrix(result)]
    outside = result.outside()
    if outside:
        listed = ", ".join(f"{label} {n}" for label, n in outside.most_common(_OUTSIDE_LISTED))
        more = len(outside) - _OUTSIDE_LISTED
        lines.append(f"{OTHER}: predicted as none of the folders' classes: {listed}"
                     + (f", and {more} more labels" if more > 0 else ""))
    wrong = sorted(result.misclassified, key=lambda o: (o.true, o.predicted, -o.confidence))
    if wrong:
        width = max(len(f"{o.true} as {o.predicted}") for o in wrong)
        lines += ["", f"misclassified ({len(wrong)}):"]
        lines += [_wrong_line(o, width) for o in wrong]
    if result.failed:
        lines += ["", f"could not be read ({len(result.failed)}, not scored):"]
        lines += [f"  {o.path}  [{o.error_kind}] {o.error_message}" for o in result.failed]
    notes = []
    if result.stray:
        notes.append(f"not evaluated: {count(result.stray, 'file')} beside the class folders "
                     "(only DIR/<class>/* is)")
    if result.skipped:
        notes.append(f"skipped {count(result.skipped, 'non-image file')}")
    if result.skipped_links:
        notes.append(f"skipped {count(result.skipped_links, 'symlinked folder')} leading "
                     "outside the evaluated folder")
    for folder, why in result.unreadable:
        notes.append(f"could not read the folder {folder} ({why}): its images are not in "
                     "these figures; fix its permissions and run again")
    if result.interrupted:
        notes.append("interrupted: these figures cover only the images read before Ctrl-C")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _per_class(result: EvalResult) -> list[str]:
    width = max(len("class"), *(len(c) for c in result.classes))
    lines = [f"{'class':<{width}}  {'images':>6}  {'precision':>9}  {'recall':>7}"]
    for label in result.classes:
        lines.append(f"{label:<{width}}  {result.images(label):>6}  "
                     f"{_percent(result.precision(label)):>9}  "
                     f"{_percent(result.recall(label)):>7}")
    return lines


def _matrix(result: EvalResult) -> list[str]:
    columns, rows = result.confusion()
    corner = "true \\ predicted"
    first = max(len(corner), *(len(c) for c in result.classes))
    widths = [max(len(c), 5) for c in columns]
    lines = ["confusion matrix (rows: the folder's class; columns: the model's answer)",
             _cells(corner, first, columns, widths)]
    lines += [_cells(label, first, row, widths)
              for label, row in zip(result.classes, rows, strict=True)]
    return lines


def _cells(head: str, first: int, values, widths: list[int]) -> str:
    return f"{head:<{first}}  " + "  ".join(f"{v:>{w}}"
                                            for v, w in zip(values, widths, strict=True))


def _wrong_line(outcome: Outcome, width: int) -> str:
    pair = f"{outcome.true} as {outcome.predicted}"
    line = f"  {pair:<{width}}  {outcome.confidence:.2f}  {outcome.path}"
    return line + (f"  -> {outcome.placed}" if outcome.placed else "")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def write_rows(result: EvalResult, output: Path, fmt: str, stdout: TextIO) -> None:
    """One row per image (csv, jsonl or json) to `output`, or to `stdout` for "-"; a file is
    written beside its final name and renamed, so it is never seen half-written."""
    rows = [_row(o) for o in result.outcomes]
    if Path(output) == STDOUT:
        _write(stdout, rows, fmt)
        stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.with_name(f".{output.name}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            _write(f, rows, fmt)
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)


def _row(outcome: Outcome) -> dict:
    return {"path": outcome.path, "true": outcome.true, "predicted": outcome.predicted,
            "confidence": outcome.confidence, "correct": outcome.correct if outcome.ok else None,
            "error_kind": outcome.error_kind, "error_message": outcome.error_message,
            "placed": outcome.placed}


def _write(stream: TextIO, rows: list[dict], fmt: str) -> None:
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if row[c] is None else _cell(row[c]) for c in COLUMNS])
    elif fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        json.dump(rows, stream, ensure_ascii=False, indent=1)
        stream.write("\n")


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
