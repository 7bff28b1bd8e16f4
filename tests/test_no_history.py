"""The product speaks of itself: no issue numbers, issue references, numbered work items or
probe rounds in code, comments, docs, messages or tests. Where a change came from belongs in its
commit message; a reader of the tree needs what the code does and why.

Covered: every text file of the tree (packages, tests and their fixtures, scripts, docs, the
READMEs, the Makefile, the CI script, the deploy template), except what the tree itself ignores
(virtual environments, artifacts, caches, build outputs) and this file's own examples.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".sh", ".json", ".toml", ".txt", ".cfg", ".ini", ".yaml",
                 ".yml", ".csv", ".service"}
TEXT_NAMES = {"Makefile", "run", ".gitignore"}
# What the tree does not ship: folders named in .gitignore, and the version control's own.
SKIPPED = re.compile(r"^(\.git|\.venv.*|artifacts(-.*)?|build|dist|__pycache__|.*\.egg-info"
                     r"|\.pytest_cache|\.ruff_cache|node_modules)$")
HISTORY = re.compile(
    r"\bissues?\s*#?\s*\d+"          # issue 13, issues 12, issue #7
    r"|\bissue #"                     # issue #
    r"|\bissue's\b|\bthe issue\b"     # the target
    r"|(?<![\w&#/])#\d+\b"            # #12 (not &#12; or a URL fragment)
    r"|\bitems? \d+\b"                # item 4, items 2, 3
    r"|\bprobe (items?|rounds?|of)\b"   # the probe of ..., probe item
    r"|\bround (one|two|three|four|\d+)\b"  # round three
    r"|\bfinding \d+\b",               # finding 3
    re.IGNORECASE)


def covered() -> list[Path]:
    paths, this = [], Path(__file__).resolve()
    for folder, names, files in os.walk(ROOT):
        names[:] = sorted(n for n in names if not SKIPPED.match(n))
        for name in sorted(files):
            path = Path(folder) / name
            if (path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES) and path != this:
                paths.append(path)
    return paths


def test_every_part_of_the_tree_is_read():
    read = {p.relative_to(ROOT).parts[0] for p in covered()}
    for part in ("edge", "train", "export", "scripts", "tests", "docs", "deploy", "results",
                 "README.md", "DEVELOPERS.md", "Makefile", ".ci"):
        if (ROOT / part).exists():
            assert part in read, part
    assert (ROOT / "tests" / "test_edge_cli.py") in covered()


def test_the_tree_carries_no_development_history():
    found = []
    for path in covered():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HISTORY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == [], "\n".join(found)


def test_the_pattern_catches_what_it_is_for():
    for text in ("issue 13", "Issue 15's targets", "(issue 16, item 4)", "see #12",
                 "issues 12 and 13", "the issue's 99% test target", "issue #4",
                 "the hostile probe of a run", "round three", "finding 2"):
        assert HISTORY.search(text), text
    for text in ("# 10 classes", "colour #ffffff", "&#39;", "an earlier run", "--top-k 2",
                 "https://example.com/page#1", "issued by", "top-1 items",
                 "hostile files", "round to uint8", "a probe image"):
        assert not HISTORY.search(text), text
