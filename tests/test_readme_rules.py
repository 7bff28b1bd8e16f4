"""The README and `edge-classify --help` state the same rules, and install commands that work
before pawlite is on PyPI (issue 12, items 2, 3, 7, 8, 10 and 17)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from edge.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_install_commands_work_before_pypi():
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE).group(1)
    commands = [c.strip() for c in
                re.findall(r"^(pip (?:install|wheel) [^#\n]*)", README, re.MULTILINE)]
    assert "pip install ." in commands
    assert "pip wheel --no-deps -w dist ." in commands
    assert f"pip install dist/pawlite-{version}-py3-none-any.whl" in commands
    flat = _flat(README)
    for match in re.finditer(r"pip install pawlite(?![-\w])", flat):  # not yet on PyPI
        assert "once it is" in flat[match.start() - 40:match.end() + 30].lower()


def test_help_and_readme_state_the_rules():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    help_text, readme = _flat(result.stdout), _flat(README)
    rules = {
        "sort-into (2)": ("never read as input, even when created during the run",
                          "never read as input, even when it is created during the run"),
        "watch (3)": ("unchanged for --settle seconds", "for `--settle` seconds"),
        "resume (7)": ("written in another format or by another model",
                       "resuming with another format or another model is refused"),
        "symlinks (10)": ("A symlinked subfolder is entered only when it points inside an "
                          "input folder", "entered only when it points inside one of the "
                          "input folders"),
        "exit 130 (8)": ("which is also how --watch ends", "which is also how `--watch` ends"),
    }
    for name, (in_help, in_readme) in rules.items():
        assert in_help in help_text, name
        assert in_readme in readme, name
