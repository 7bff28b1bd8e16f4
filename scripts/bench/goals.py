"""What `make bench` holds edge-classify to: the tool's own speed and footprint goals.

Each goal is one measurement against a limit; `report.checks` prints it PASS/FAIL (n/a when the
run did not measure it) after the tables, and docs/bench.md lists the same goals. Validation
ratios are whole-process (images / wall seconds, start-up included), which is what a user
waits for; the large-photo ratio is the steady rate, where decoding dominates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    key: str
    name: str
    limit: float
    at_least: bool
    unit: str


GOALS = (
    Goal("whole_rate", "edge-classify whole process, images / wall (1,000 in <= 2.0 s)", 500,
         True, " images/s"),
    Goal("vs_mediapipe", "edge-classify vs MediaPipe Tasks, whole process", 2.5, True, "x"),
    Goal("vs_keras", "edge-classify vs Keras predict, whole process", 6, True, "x"),
    Goal("peak_rss", "edge-classify peak RSS", 100, False, " MB"),
    Goal("first_result", "one image: edge-classify first result (median)", 0.25, False, " s"),
    Goal("help", "edge-classify --help (median)", 0.15, False, " s"),
    Goal("vs_naive_large", "edge-classify vs naive loop, steady images/s", 5, True, "x"),
    Goal("cold_start", "serverless cold start: import + model load (median)", 0.6, False, " s"),
)
