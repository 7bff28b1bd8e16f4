"""Write docs/cli.md, the options reference, from the commands themselves (`edge-classify`,
`python -m edge.describe`), so it cannot drift: `tests/test_edge_cli_reference.py` fails
when the committed file differs from what this prints.

    python scripts/cli_reference.py            # rewrite docs/cli.md
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = ROOT / "docs" / "cli.md"


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _option(param) -> tuple[str, str, str, str]:
    names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
    if param.param_type_name == "argument":
        value = f"`{param.metavar or param.name.upper()}`" + ("..." if param.nargs == -1 else "")
        return value, "", "", _cell(getattr(param, "help", "") or "")
    value = "" if param.is_flag else _cell(param.type.name.upper())
    default = param.default
    if param.is_flag and param.secondary_opts:
        default = param.opts[0] if default else param.secondary_opts[0]
    elif param.is_flag or default is None or param.required:
        default = ""
    return names, value, f"`{default}`" if default != "" else "", _cell(param.help or "")


def _section(title: str, usage: str, command) -> list[str]:
    lines = [f"## {title}", "", "```", usage, "```", "",
             _cell(command.help.split("\n\n")[0]), "",
             "| option | value | default | meaning |", "|---|---|---|---|"]
    for param in command.params:
        lines.append("| " + " | ".join(_option(param)) + " |")
    if command.epilog:
        lines += ["", _cell(command.epilog)]
    return [*lines, ""]


def render() -> str:
    import typer

    from edge.cli import app
    from edge.describe import command_app

    lines = ["# Command-line reference", "",
             "Generated from the commands by `python scripts/cli_reference.py`; do not edit by "
             "hand. `edge-classify --help` prints the same.", ""]
    lines += _section("edge-classify", "edge-classify [OPTIONS] [PATH]...",
                      typer.main.get_command(app))
    lines += _section("python -m edge.describe",
                      "python -m edge.describe [OPTIONS] MODEL -o OUT",
                      typer.main.get_command(command_app()))
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
