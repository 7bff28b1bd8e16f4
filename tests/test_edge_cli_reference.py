"""docs/cli.md is generated from the commands: it must match them, and name every option."""

from __future__ import annotations

import typer

from edge.cli import app
from scripts.cli_reference import TARGET, render


def test_the_options_reference_is_current():
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: run `python scripts/cli_reference.py` and commit it")


def test_the_reference_names_every_option_and_version():
    text = render()
    for param in typer.main.get_command(app).params:
        for name in param.opts:
            assert f"`{name}`" in text or param.param_type_name == "argument", name
    assert "`--version`" in text and "`--threads`" in text


def test_version_prints_the_package_version():
    from importlib import metadata

    from tests.cli_helpers import invoke

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"pawlite {metadata.version('pawlite')}\n"
