"""edge.run.progress: the summary lines and the terminal progress line."""

import io
import re

from edge.classifier import Result
from edge.run.progress import Progress, Summary
from edge.runtime import Kernels


def _summary():
    summary = Summary()
    for label in ("cats", "dogs", "cats", "uncertain"):
        summary.add(Result("x", label, 0.9, ((label, 0.9),)))
    summary.add(Result("y", error_kind="truncated", error_message="cut"))
    summary.skipped, summary.already_done = 3, 7
    summary.finish()
    return summary


def test_summary_lines_count_labels_failures_and_skips():
    summary = _summary()
    text = "\n".join(summary.lines())
    assert summary.done == 5 and summary.classified == 4 and summary.failed == 1
    assert "classified 4 images" in text and "cats 2, dogs 1, uncertain 1" in text
    assert "failed 1: truncated 1" in text and "skipped 3 non-image files" in text
    assert "7 files were already done" in text and "images/s" in text


def test_one_of_anything_is_singular():
    summary = Summary()
    summary.add(Result("x", "cats", 0.9, (("cats", 0.9),)))
    summary.skipped = summary.already_done = summary.skipped_links = summary.sorted = 1
    summary.unreadable_folders = [(f"/f{i}", "denied") for i in range(11)]
    summary.finish()
    text = "\n".join(summary.lines())
    for line in ("classified 1 image in", "skipped 1 non-image file\n", "1 file was already done",
                 "skipped 1 symlinked folder leading", "sorted 1 file",
                 "and 1 more unreadable folder"):
        assert line in text + "\n", line
    # "(39893.1 images/s)" is a rate, not a count: only a whole 1 must be singular.
    assert not re.search(r"(?<![\d.])1 (images|files|folders)\b", text), text


def test_the_summary_names_the_kernels_on_its_own_line():
    summary = _summary()
    assert not any(line.startswith("model run by") for line in summary.lines())
    summary.kernels = Kernels("ai-edge-litert", "2.3.0", 2, False)
    assert summary.lines()[1] == ("model run by ai-edge-litert 2.3.0, 2 interpreter threads, "
                                  "XNNPACK NOT applied (builtin kernels)")


def test_progress_shows_rate_and_eta_and_clears():
    stream = io.StringIO()
    progress = Progress(stream, enabled=True)
    progress.total = 10
    progress.update(_summary(), force=True)
    assert "5/10" in stream.getvalue() and "ETA" in stream.getvalue()
    assert "images/s" in stream.getvalue() and "1 failed" in stream.getvalue()
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_disabled_progress_writes_nothing():
    stream = io.StringIO()
    progress = Progress(stream, enabled=False)
    progress.update(_summary(), force=True)
    progress.clear()
    assert stream.getvalue() == ""
