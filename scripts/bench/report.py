"""The `make bench` table and the issue's targets, from measurements (no timing here)."""

from __future__ import annotations

from dataclasses import dataclass

EDGE = "a edge-classify"
KERAS, NAIVE, MEDIAPIPE = "b keras predict", "c naive loop", "d mediapipe tasks"


@dataclass(frozen=True)
class Measurement:
    """One contender on one image set; None where it did not run or failed (see `note`)."""

    images: int = 0
    rate: float | None = None
    rss_mb: float | None = None
    first_s: float | None = None
    wall_s: float | None = None
    note: str = ""

    def summary(self) -> str:
        if self.rate is None:
            return self.note
        return (f"{self.rate:.0f} images/s, first {self.first_s:.2f} s, "
                f"{self.rss_mb:.0f} MB, wall {self.wall_s:.1f} s")


@dataclass(frozen=True)
class Check:
    """One target of issue 5: `value` against `limit`; passed is None when not measurable."""

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
        return f"{verdict}  {self.name}: {value} (target {sign} {self.limit:g}{self.unit})"


def _ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or a.rate is None or b.rate is None:
        return None
    return a.rate / b.rate


def targets(results: dict[str, dict[str, Measurement]]) -> list[Check]:
    """The issue's targets: validation folder (first set) and the large photos (second set)."""
    names = list(results)
    val = results[names[0]]
    edge = val.get(EDGE)
    checks = [
        Check(f"{names[0]}: edge-classify images/s", edge.rate if edge else None, 500, True, ""),
        Check(f"{names[0]}: edge-classify vs Keras", _ratio(edge, val.get(KERAS)), 3, True, "x"),
        Check(f"{names[0]}: edge-classify vs MediaPipe", _ratio(edge, val.get(MEDIAPIPE)), 1.8,
              True, "x"),
        Check(f"{names[0]}: edge-classify peak RSS", edge.rss_mb if edge else None, 100, False,
              " MB"),
        Check(f"{names[0]}: edge-classify first result", edge.first_s if edge else None, 0.3,
              False, " s"),
    ]
    if len(names) > 1:
        large = results[names[1]]
        checks.append(Check(f"{names[1]}: edge-classify vs naive loop",
                            _ratio(large.get(EDGE), large.get(NAIVE)), 4, True, "x"))
    return checks


def _cell(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def render(report: dict, checks: list[Check]) -> str:
    """A markdown table (pasteable into docs/bench.md), the targets, and the machine load."""
    lines = [
        "| set | contender | images | images/s | (a) is x faster | peak RSS MB "
        "| first result s | wall s | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for set_name, row in report["results"].items():
        edge = row.get(EDGE)
        for name, m in row.items():
            ratio = _ratio(edge, m)
            lines.append(
                f"| {set_name} | {name} | {m.images} | {_cell(m.rate, '.0f')} "
                f"| {_cell(ratio, '.2f')} | {_cell(m.rss_mb, '.0f')} | {_cell(m.first_s, '.2f')} "
                f"| {_cell(m.wall_s, '.1f')} | {m.note} |"
            )
    start, end = report["load_start"], report["load_end"]
    lines += [
        "",
        *(check.line() for check in checks),
        "",
        f"model: {report['model']}; keras model: {report['keras_model']}; "
        f"mediapipe python: {report['mediapipe_python'] or 'none'}",
        f"load average (1/5/15 min) at start {start[0]:.2f}/{start[1]:.2f}/{start[2]:.2f}, "
        f"at end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}, on {report['cpus']} CPUs",
    ]
    return "\n".join(lines)
