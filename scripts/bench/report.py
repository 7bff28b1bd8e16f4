"""The `make bench` tables, its goals as PASS/FAIL lines, and the docs/bench.md update (no
timing here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .goals import GOALS, Goal
from .machine import QUIET_LOAD

if TYPE_CHECKING:
    from .startup import Startup

EDGE = "a edge-classify"
KERAS, NAIVE, MEDIAPIPE = "b keras predict", "c naive loop", "d mediapipe tasks"
MARKERS = ("<!-- bench-table:start -->", "<!-- bench-table:end -->")
DOC_FILE = "docs/bench.md"


@dataclass(frozen=True)
class Measurement:
    """One contender on one image set; None where it did not run or failed (see `note`).

    `cpu_s`: the process's user + system CPU seconds; `others_cpu`: cores' worth of CPU that
    other processes used while it ran; `load_before`/`load_after`: 1-minute load averages."""

    images: int = 0
    rate: float | None = None
    rss_mb: float | None = None
    first_s: float | None = None
    wall_s: float | None = None
    note: str = ""
    cpu_s: float | None = None
    others_cpu: float | None = None
    load_before: float | None = None
    load_after: float | None = None

    def summary(self) -> str:
        if self.rate is None:
            return self.note
        return (f"{self.rate:.0f} images/s, first {self.first_s:.2f} s, "
                f"{self.rss_mb:.0f} MB, wall {self.wall_s:.1f} s, CPU {self.cpu_s:.1f} s, "
                f"load {_cell(self.load_before, '.2f')} -> {_cell(self.load_after, '.2f')}")

    @property
    def whole_rate(self) -> float | None:
        """Images per second of wall time, start-up and shutdown included."""
        return self.images / self.wall_s if self.rate is not None and self.wall_s else None


@dataclass(frozen=True)
class Check:
    """One goal (goals.py) and what this run measured for it; passed is None when not measured."""

    name: str
    value: float | None
    limit: float
    at_least: bool
    unit: str

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def line(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[self.passed]
        sign = ">=" if self.at_least else "<="
        value = "not measured" if self.value is None else f"{self.value:.2f}{self.unit}"
        return f"{verdict}  {self.name}: {value} (goal {sign} {self.limit:g}{self.unit})"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def checks(results: dict[str, dict[str, Measurement]], startup: Startup | None,
           goals: tuple[Goal, ...] = GOALS) -> list[Check]:
    """Each goal against this run: the validation folder is the first image set, the large
    photos the second; a goal whose set or contender did not run is not measured."""
    names = list(results)
    val = results[names[0]]
    edge = val.get(EDGE) or Measurement()
    rate = edge.whole_rate

    def versus(name: str) -> float | None:
        other = val.get(name)
        return _ratio(rate, other.whole_rate if other else None)

    def large_vs_naive() -> float | None:
        if len(names) < 2:
            return None
        a, c = results[names[1]].get(EDGE), results[names[1]].get(NAIVE)
        return _ratio(a.rate if a else None, c.rate if c else None)

    values = {
        "whole_rate": (f"{names[0]} ({edge.images} images): ", rate),
        "vs_mediapipe": (f"{names[0]}: ", versus(MEDIAPIPE)),
        "vs_keras": (f"{names[0]}: ", versus(KERAS)),
        "peak_rss": (f"{names[0]}: ", edge.rss_mb),
        "first_result": ("", startup.one_image_first_s if startup else None),
        "help": ("", startup.help_s if startup else None),
        "vs_naive_large": (f"{names[1]}: " if len(names) > 1 else "", large_vs_naive()),
        "cold_start": ("", startup.cold_start_s if startup else None),
    }
    return [Check(values[g.key][0] + g.name, values[g.key][1], g.limit, g.at_least, g.unit)
            for g in goals]


def _cell(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def _table(report: dict) -> list[str]:
    lines = [
        "| set | contender | images | images/s | (a) x faster | whole-process images/s "
        "| (a) x faster, whole | wall s | CPU s | peak RSS MB | first result s "
        "| load before / after | others' CPU | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for set_name, row in report["results"].items():
        edge = row.get(EDGE) or Measurement()
        for name, m in row.items():
            lines.append(
                f"| {set_name} | {name} | {m.images} | {_cell(m.rate, '.0f')} "
                f"| {_cell(_ratio(edge.rate, m.rate), '.2f')} | {_cell(m.whole_rate, '.0f')} "
                f"| {_cell(_ratio(edge.whole_rate, m.whole_rate), '.2f')} "
                f"| {_cell(m.wall_s, '.2f')} | {_cell(m.cpu_s, '.1f')} | {_cell(m.rss_mb, '.0f')} "
                f"| {_cell(m.first_s, '.2f')} | {_cell(m.load_before, '.2f')} / "
                f"{_cell(m.load_after, '.2f')} | {_cell(m.others_cpu, '.2f')} | {m.note} |"
            )
    return lines


def _startup_lines(startup: Startup | None) -> list[str]:
    if startup is None:
        return []
    return [
        "",
        f"| start-up (median of {startup.repeats}) | seconds |",
        "|---|---:|",
        f"| `edge-classify --help` | {_cell(startup.help_s, '.3f')} |",
        f"| one image: first result | {_cell(startup.one_image_first_s, '.3f')} |",
        f"| one image: whole process (peak RSS {_cell(startup.one_image_rss_mb, '.0f')} MB) "
        f"| {_cell(startup.one_image_wall_s, '.3f')} |",
        f"| serverless cold start: import | {_cell(startup.cold_import_s, '.3f')} |",
        f"| serverless cold start: model load (get_worker) | {_cell(startup.cold_load_s, '.3f')} |",
        *(f"\n{note}" for note in startup.notes),
    ]


def render(report: dict, checks: list[Check]) -> str:
    """The tables (pasteable markdown), the goals, the machine and its load."""
    start, end = report["load_start"], report["load_end"]
    lines = [
        f"`make bench` of {report.get('date', 'unknown date')}:",
        "",
        *_table(report),
        *_startup_lines(report.get("startup")),
        "",
        "```",
        *(check.line() for check in checks),
        "```",
        "",
        f"machine: {report.get('cpu_model', 'unknown CPU')}, {report['cpus']} CPUs; "
        f"model: {report['model']}; keras model: {report['keras_model']}; "
        f"mediapipe python: {report['mediapipe_python'] or 'none'}",
        f"load average (1/5/15 min) at start {start[0]:.2f}/{start[1]:.2f}/{start[2]:.2f}, "
        f"at end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}",
    ]
    return "\n".join(lines)


def refusal(report: dict, limit: float = QUIET_LOAD) -> str | None:
    """Why this run must not become docs/bench.md's table, or None when the machine was quiet:
    1-minute load above `limit` at the start or before any contender, or other processes
    using more than `limit` cores while one ran."""
    reasons = []
    if report["load_start"][0] > limit:
        reasons.append(f"load average {report['load_start'][0]:.2f} at the start")
    for set_name, row in report["results"].items():
        for name, m in row.items():
            if m.load_before is not None and m.load_before > limit:
                reasons.append(f"load {m.load_before:.2f} before {set_name} / {name}")
            if m.others_cpu is not None and m.others_cpu > limit:
                reasons.append(f"other processes used {m.others_cpu:.2f} cores during "
                               f"{set_name} / {name}")
    if not reasons:
        return None
    return f"above {limit:g}: " + "; ".join(reasons)


def write_between_markers(path: Path, text: str) -> None:
    """Replace the lines between the bench-table marker lines in `path` with `text` (a marker
    counts only as a line of its own, so prose may name it)."""
    lines = path.read_text().splitlines(keepends=True)
    bare = [line.strip() for line in lines]
    start, end = MARKERS
    if start not in bare or end not in bare[bare.index(start):]:
        raise SystemExit(f"error: {path} has no {start} ... {end} marker lines; add them "
                         "around the bench table.")
    first = bare.index(start)
    last = bare.index(end, first)
    path.write_text("".join(lines[:first + 1]) + text + "\n" + "".join(lines[last:]))
