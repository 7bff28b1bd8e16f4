"""The guide and `edge-classify --help` state the same rules, and the install commands in the
guide work while pawlite is not on PyPI: from a clone, or from a wheel built in one."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from edge.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLASSIFY = (ROOT / "docs" / "classify.md").read_text(encoding="utf-8")
PI = (ROOT / "docs" / "raspberry-pi.md").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _commands(text: str) -> list[str]:
    return [c.strip() for c in re.findall(r"(?:^|\s)((?:\S*/)?pip3? (?:install|wheel) [^#\n]*)",
                                          text, re.MULTILINE)]


def test_install_commands_work_before_pypi():
    version = re.search(r'^version = "([^"]+)"', PYPROJECT, re.MULTILINE).group(1)
    wheel = f"pawlite-{version}-py3-none-any.whl"
    assert "pip install ." in _commands(README)
    pi = _commands(PI)
    assert "pip wheel --no-deps -w dist ." in PI
    assert f"scp dist/{wheel} " in PI
    assert any(c.endswith(f"pip install ~/{wheel}") for c in pi), pi
    for text in (README, PI):
        flat = _flat(text)
        for match in re.finditer(r"pip install pawlite(?![-\w])", flat):  # not yet on PyPI
            assert "once it is" in flat[match.start() - 40:match.end() + 30].lower()


def test_the_pi_guide_pins_typer_as_pyproject_does():
    """A pin that contradicts pyproject makes pip report a conflict on the device."""
    required = re.search(r'"typer([^"]+)"', PYPROJECT).group(1)
    pins = re.findall(r'"typer([^"]*)"', PI)
    assert pins and all(pin == required for pin in pins), (pins, required)


def test_help_and_the_guide_state_the_rules():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    help_text, guide = _flat(result.stdout), _flat(README + "\n" + CLASSIFY)
    rules = {
        "sort-into": ("never read as input, even when created during the run",
                      "never read as input, even when it is created during the run"),
        "watch": ("unchanged for --settle seconds", "for `--settle` seconds"),
        "resume": ("written in another format or by another model",
                   "resuming with another format or another model is refused"),
        "symlinks": ("A symlinked subfolder is entered only when it points inside an "
                     "input folder", "entered only when it points inside one of the "
                     "input folders"),
        "exit 130": ("which is also how --watch ends", "which is also how `--watch` ends"),
    }
    for name, (in_help, in_guide) in rules.items():
        assert in_help in help_text, name
        assert in_guide in guide, name
