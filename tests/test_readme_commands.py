"""The README's runnable examples run here, and their output must have the shape the README
shows, so that the guide cannot drift from the tools.

A block is runnable when the line before its opening fence is `<!-- runnable -->`, optionally
with words after a colon: `terminal` (stdout is a terminal, as when a user types the command),
`my-data` (a generated `my-data/train|validation/<class>/` dataset in the working folder),
`tensorflow` (skipped where TensorFlow is not installed, as on the base install). Inside a
```console block, `$ ` lines are commands, run in order by bash in a fresh temporary folder;
the lines after each are its output: stdout, then stderr. Every image path the block names
under `photos/` or `labelled/` is created there as a generated image, so the commands can be
written against the folders a reader has.

Shape: the same number of lines, and per line the same first two words once numbers, the
model's class names, image paths and the folders of an absolute path are masked; a CSV line
(one word) is compared whole. The images are generated, so which class each gets is not
compared, nor the rest of a line (timings, thread counts differ between machines).
"""

from __future__ import annotations

import importlib.util
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imagegen import COLOURS, make_dataset, write_image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
OPTIONS = {"terminal", "my-data", "tensorflow"}
MARKER = re.compile(r"^<!-- runnable(?::(?P<options>[^>]*))? -->\n```console\n(?P<body>.*?)^```",
                    re.MULTILINE | re.DOTALL)
IMAGE_PATH = re.compile(r"(?<![\w/])((?:photos|labelled)/[\w./-]+\.(?:jpg|jpeg|png))")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ABSOLUTE = re.compile(r"(?<!\S)/\S*/([^/\s]+)")


def blocks() -> list[tuple[int, set[str], list[tuple[str, list[str]]]]]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in MARKER.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        options = set((match.group("options") or "").split())
        commands: list[tuple[str, list[str]]] = []
        for row in match.group("body").splitlines():
            if row.startswith("$ "):
                commands.append((row[2:], []))
            else:
                assert commands, f"README.md:{line}: output before the first `$ ` command"
                commands[-1][1].append(row)
        found.append((line, options, commands))
    return found


def test_the_readme_has_runnable_blocks_and_only_known_options():
    found = blocks()
    assert len(found) >= 3
    for line, options, commands in found:
        assert options <= OPTIONS, f"README.md:{line}: unknown options {options - OPTIONS}"
        assert commands, f"README.md:{line}: a runnable block without a `$ ` command"


def _class_names() -> list[str]:
    from edge.classifier import BUNDLED_MODEL
    from edge.modelfile.modelinfo import read_model_info

    return list(read_model_info(BUNDLED_MODEL).class_names)


def _shape(lines: list[str], words: list[str]) -> list[str]:
    label = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    shaped = []
    for line in lines:
        line = ANSI.sub("", line).rstrip()
        line = IMAGE_PATH.sub("IMAGE", ABSOLUTE.sub(r"\1", line))
        line = NUMBER.sub("N", label.sub("L", line))
        shaped.append(" ".join(line.split()[:2]))
    return shaped


def _make_inputs(folder: Path, commands, options: set[str]) -> None:
    text = "\n".join(command + "\n" + "\n".join(output) for command, output in commands)
    for i, relative in enumerate(sorted(set(IMAGE_PATH.findall(text)))):
        path = folder / relative
        if not path.exists():
            write_image(path, size=(96, 72), colour=COLOURS[i % len(COLOURS)], seed=i)
    if "my-data" in options:
        make_dataset(folder / "my-data", n_train=40, n_val=100)


def _run(command: str, cwd: Path, terminal: bool) -> tuple[int, list[str], list[str]]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "100"}
    if not terminal:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout.splitlines(), done.stderr.splitlines()
    master, slave = pty.openpty()
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdout=slave,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = process.stderr.read().decode()
    process.wait(timeout=300)
    return process.returncode, b"".join(chunks).decode().splitlines(), stderr.splitlines()


@pytest.mark.parametrize("line, options, commands", blocks(),
                         ids=[f"README.md:{line}" for line, _, _ in blocks()])
def test_a_runnable_block_prints_what_the_readme_shows(tmp_path, line, options, commands):
    if "tensorflow" in options and importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow (pip install '.[train]')")
    _make_inputs(tmp_path, commands, options)
    words = [*_class_names(), "uncertain"]
    for command, shown in commands:
        status, stdout, stderr = _run(command, tmp_path, "terminal" in options)
        assert status == 0, f"README.md:{line}: `{command}` exited {status}:\n" + "\n".join(stderr)
        got, want = _shape(stdout + stderr, words), _shape(shown, words)
        assert got == want, (f"README.md:{line}: `{command}` printed\n" +
                             "\n".join(stdout + stderr) + "\nwhere the README shows\n" +
                             "\n".join(shown))
