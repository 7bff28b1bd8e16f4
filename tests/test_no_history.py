"""The product speaks of itself: no issue numbers, issue references or numbered work items in
code, comments, docs, messages or tests. Where a change came from belongs in its commit
message; a reader of the tree needs what the code does and why.

Covered: the packages in `PACKAGES`, the tests except edge's own (`test_edge_*`,
`test_serverless*`, which go with the edge package), the docs, the READMEs, DEVELOPERS.md,
the Makefile, pyproject.toml and the CI script.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("train", "export", "scripts")
FILES = ("README.md", "DEVELOPERS.md", "results/README.md", "Makefile", ".ci/run",
         "pyproject.toml")
TEXT_SUFFIXES = {".py", ".md", ".sh", ".json", ".toml", ".txt", ".cfg", ".ini"}
HISTORY = re.compile(
    r"\bissues?\s*#?\s*\d+"          # issue 13, issues 12, issue #7
    r"|\bissue #"                     # issue #
    r"|\bissue's\b|\bthe issue\b"     # the target
    r"|(?<![\w&#/])#\d+\b"            # #12 (not &#12; or a URL fragment)
    r"|\bitems? \d+\b",               # item 4, items 2, 3
    re.IGNORECASE)
EDGE_TESTS = re.compile(r"test_(edge|serverless)")


def covered() -> list[Path]:
    paths = [ROOT / name for name in FILES if (ROOT / name).is_file()]
    for folder in (*PACKAGES, "docs"):
        paths += [p for p in sorted((ROOT / folder).rglob("*"))
                  if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts]
    tests = ROOT / "tests"
    paths += [p for p in sorted(tests.rglob("*"))
              if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
              and not EDGE_TESTS.match(p.name)]
    return [p for p in paths if p != Path(__file__).resolve()]  # its own examples below


def test_the_tree_carries_no_development_history():
    found = []
    for path in covered():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HISTORY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == [], "\n".join(found)


def test_the_pattern_catches_what_it_is_for():
    for text in ("issue 13", "Issue 15's targets", "(issue 16, item 4)", "see #12",
                 "issues 12 and 13", "the issue's 99% test target", "issue #4"):
        assert HISTORY.search(text), text
    for text in ("# 10 classes", "colour #ffffff", "&#39;", "an earlier run", "--top-k 2",
                 "https://example.com/page#1", "issued by", "top-1 items"):
        assert not HISTORY.search(text), text
