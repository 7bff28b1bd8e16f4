"""edge-classify --profile: CPU ms per image by stage, summed over threads."""

from __future__ import annotations

import re
import threading
import time

from edge.run.stageprofile import STAGES, StageProfile
from tests.cli_helpers import csv_rows, invoke, write_images


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _stage_values(output: str) -> dict[str, float]:
    return {name: float(value) for name, value in
            re.findall(r"^  (\w+) +(\d+\.\d\d)  ", output, flags=re.MULTILINE)}


def test_profile_prints_every_stage_and_leaves_the_rows_alone(tmp_path):
    folder = write_images(tmp_path / "in", n=6)
    plain = invoke(folder, "-o", "-", "-q")
    profiled = invoke(folder, "-o", "-", "-q", "--profile")
    assert plain.exit_code == 0 and profiled.exit_code == 0, profiled.output
    assert csv_rows(profiled.stdout) == csv_rows(plain.stdout)
    assert "profile: 6 images, CPU ms per image (all threads)" in profiled.stderr
    values = _stage_values(profiled.stderr)
    assert list(values) == [*STAGES, "other", "total"]
    assert values["decode"] > 0 and values["resize"] > 0 and values["interpreter"] > 0
    assert sum(values[name] for name in [*STAGES, "other"]) >= values["total"] - 0.05
    assert "profile:" not in plain.stderr


def test_stage_times_add_up_over_threads():
    profile = StageProfile()

    def work():
        with profile.stage("decode"):
            _busy(0.02)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.055 <= profile.cpu["decode"] < 0.5
    assert profile.cpu["resize"] == 0.0


def test_timed_charges_the_loop_body_not_the_producer():
    profile = StageProfile()

    def produce():
        for i in range(3):
            _busy(0.03)
            yield i

    for _ in profile.timed(produce(), "output"):
        _busy(0.01)
    assert 0.025 <= profile.cpu["output"] < 0.06


def test_a_thread_that_ran_a_stage_is_never_counted_as_the_runtimes(monkeypatch):
    """A decoder thread Python has let go can linger in /proc: its CPU is decode's, and
    counting it again as the interpreter's made the stages add up to more than the process."""
    reference = StageProfile()
    reference.add_runtime_threads()  # the other threads this process has, Python's excluded
    profile = StageProfile()
    with profile.stage("decode"):
        _busy(0.2)
    listed = threading.enumerate
    monkeypatch.setattr(threading, "enumerate",
                        lambda: [t for t in listed() if t is not threading.current_thread()])
    profile.add_runtime_threads()
    assert profile.runtime_threads is not None
    assert profile.cpu["interpreter"] < reference.cpu["interpreter"] + 0.1
