"""The offline parts of `make pi-check`: the fixed image folder and the host/arm64 comparison.

The emulated run itself (debootstrap, qemu, pip from PyPI) takes minutes and root, so it lives
in `make pi-check`, not here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pi_check():
    path = ROOT / "scripts" / "pi_check.py"
    spec = importlib.util.spec_from_file_location("pi_check", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pi_check"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["pi_check"]


def row(path, label=None, probs=None, error=None):
    return {"path": path, "label": label, "confidence": max(probs) if probs else None,
            "probabilities": probs, "error_kind": error}


def rows(*items):
    return {r["path"]: r for r in items}


def test_agreeing_runs_pass(pi_check):
    host = rows(row("a.jpg", "cats", [0.9, 0.1]), row("b.jpg", error="truncated"))
    pi = rows(row("a.jpg", "cats", [0.885, 0.115]), row("b.jpg", error="truncated"))
    result = pi_check.compare_rows(host, pi)
    assert [r.problem for r in result] == [None, None]
    assert result[0].max_diff == pytest.approx(0.015)


@pytest.mark.parametrize("pi_row, problem", [
    (row("a.jpg", "dogs", [0.49, 0.51]), "different label"),
    (row("a.jpg", "cats", [0.87, 0.13]), "probability differs by more than 0.02"),
    (row("a.jpg", error="not-an-image"), "different error"),
])
def test_each_kind_of_mismatch_is_reported(pi_check, pi_row, problem):
    host = rows(row("a.jpg", "cats", [0.9, 0.1]))
    assert pi_check.compare_rows(host, rows(pi_row))[0].problem == problem


def test_missing_rows_on_either_side_are_mismatches(pi_check):
    host = rows(row("a.jpg", "cats", [0.9, 0.1]))
    pi = rows(row("b.jpg", "cats", [0.9, 0.1]))
    problems = {r.path: r.problem for r in pi_check.compare_rows(host, pi)}
    assert problems == {"a.jpg": "only on the host", "b.jpg": "only on the arm64 side"}


def test_compare_command_exit_status_and_summary(pi_check, tmp_path, capsys):
    host, pi = tmp_path / "host.jsonl", tmp_path / "pi.jsonl"
    host.write_text(json.dumps(row("a.jpg", "cats", [0.9, 0.1])) + "\n")
    pi.write_text(json.dumps(row("a.jpg", "cats", [0.95, 0.05])) + "\n")
    summary = tmp_path / "summary.json"
    status = pi_check.main(["compare", str(host), str(pi), "--summary", str(summary),
                            "--venv-mib", "120", "--seconds", "total=30"])
    assert status == 1
    assert "pi: 1 files, largest probability difference 0.0500" in capsys.readouterr().out
    numbers = json.loads(summary.read_text())
    assert numbers["runs"]["pi"]["mismatches"] == 1 and numbers["seconds"] == {"total": 30}
    assert pi_check.main(["compare", str(host), str(host)]) == 0


def test_one_column_per_device_and_every_device_must_agree(pi_check, tmp_path, capsys):
    host = tmp_path / "host.jsonl"
    host.write_text(json.dumps(row("a.jpg", "cats", [0.9, 0.1])) + "\n")
    (tmp_path / "pi4.jsonl").write_text(json.dumps(row("a.jpg", "cats", [0.9, 0.1])) + "\n")
    (tmp_path / "pi5.jsonl").write_text(json.dumps(row("a.jpg", "dogs", [0.4, 0.6])) + "\n")
    status = pi_check.main(["compare", str(host), f"pi4={tmp_path / 'pi4.jsonl'}",
                            f"pi5={tmp_path / 'pi5.jsonl'}"])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0].split()[:6] == ["file", "host", "pi4", "|dp|", "pi5", "|dp|"]
    assert out[1].endswith("pi5: different label")
    assert out[2].endswith("agrees with the host") and out[3].endswith("1 MISMATCHES")


def test_a_run_without_xnnpack_fails_even_when_its_numbers_agree(pi_check, tmp_path, capsys):
    line = json.dumps(row("a.jpg", "cats", [0.9, 0.1])) + "\n"
    for name in ("host", "pi4"):
        (tmp_path / f"{name}.jsonl").write_text(line)
    (tmp_path / "host.stderr").write_text(
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    (tmp_path / "pi4.stderr").write_text("Error in cpuinfo: failed to parse the list of "
                                         "possible processors\n")
    summary = tmp_path / "summary.json"
    status = pi_check.main(["compare", str(tmp_path / "host.jsonl"),
                            f"pi4={tmp_path / 'pi4.jsonl'}", "--summary", str(summary)])
    assert status == 1
    assert "ran WITHOUT XNNPACK" in capsys.readouterr().out
    assert json.loads(summary.read_text())["xnnpack"] == {"host": True, "pi4": False}
    (tmp_path / "pi4.stderr").write_text("INFO: Created TensorFlow Lite XNNPACK delegate\n")
    assert pi_check.main(["compare", str(tmp_path / "host.jsonl"),
                          f"pi4={tmp_path / 'pi4.jsonl'}"]) == 0
    # The runtime logs the delegate's creation even when it then takes no op: edge says so.
    (tmp_path / "pi4.stderr").write_text(
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
        "warning: tflite-runtime 2.14.0 did not apply XNNPACK to model.tflite: ...\n")
    assert pi_check.main(["compare", str(tmp_path / "host.jsonl"),
                          f"pi4={tmp_path / 'pi4.jsonl'}"]) == 1


@pytest.mark.parametrize("device, cpu, part", [
    ("pi3", "cortex-a53", "0xd03"), ("pi4", "cortex-a72", "0xd08"), ("pi5", "cortex-a76", "0xd0b"),
])
def test_each_device_has_its_qemu_cpu_and_cpuinfo(pi_check, tmp_path, capsys, device, cpu,
                                                  part):
    assert pi_check.main(["qemu-cpu", device]) == 0
    assert capsys.readouterr().out.strip() == cpu
    out = tmp_path / "cpuinfo"
    assert pi_check.main(["cpuinfo", "--device", device, "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("processor\t:") == 4
    assert text.count(f"CPU part\t: {part}\n") == 4
    assert "CPU implementer\t: 0x41" in text and "Model\t\t: Raspberry Pi" in text


def test_images_picks_a_fixed_selection_plus_two_broken_files(pi_check, tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for folder, names in pi_check.PICKS.items():
            for name in names + [name.replace(".20", ".21") for name in names]:
                z.writestr(f"{pi_check.PREFIX}/{folder}/{name}", b"\xff\xd8" + name.encode())
        z.writestr(pi_check.TRUNCATED_SOURCE, b"\xff\xd8" + b"x" * 98)
    out = tmp_path / "images"
    assert pi_check.write_images(archive, out) == 42
    assert pi_check.write_images(archive, out) == 42
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(files) == 42 and files[0] == "broken/not-an-image.jpg"
    assert files[2:4] == ["cats/cat.2000.jpg", "cats/cat.2001.jpg"]
    assert len((out / "broken" / "truncated.jpg").read_bytes()) == 40
