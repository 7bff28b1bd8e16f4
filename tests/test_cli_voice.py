"""`python -m train` and `python -m export` speak as edge-classify does: a user error is one
`error: <message>` line on stderr with exit 1 and no traceback; a usage error exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                            "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.mark.parametrize("argv", [
    ("-m", "train", "--data-dir", "missing-folder", "--prepare-only", "--out", "out"),
    ("-m", "export", "--split", "missing/split.json", "--out", "missing"),
    ("-m", "export", "bundle", "--artifacts", "missing", "--dest", "dest"),
])
def test_a_user_error_is_one_plain_line_and_exit_1(tmp_path, argv):
    done = _run(tmp_path, *argv)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "\x1b[" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("module", ["train", "export", "edge.cli"])
def test_an_unknown_option_is_a_usage_error(tmp_path, module):
    argv = ("-c", "from edge.cli import main; main()", "--no-such-option") \
        if module == "edge.cli" else ("-m", module, "--no-such-option")
    done = _run(tmp_path, *argv)
    assert done.returncode == 2, done.stderr
    assert "No such option: --no-such-option" in done.stderr
    assert "Traceback" not in done.stderr
