"""The Python half of `make pi-check` (scripts/pi_check.sh does the arm64 root and the runs).

- `images`: the fixed input folder, 20 cats and 20 dogs from the shared validation set plus two
  broken files (a truncated JPEG, a text file named .jpg), so every run compares the same files.
- `compare`: the host's and the arm64 run's JSONL side by side. A pass needs the same rows, the
  same label for every image, every probability within the tolerance, and the same error kind
  for every broken file; it prints the table and exits 1 on any mismatch.
- `rss`: peak resident memory of edge-classify per `--threads` value, for the Pi Zero 2 / Pi 3
  advice (measured on the host: RSS under qemu says nothing about a real Pi).
- `cpuinfo`: the /proc/cpuinfo of a Raspberry Pi model, bind-mounted over the emulated root's
  so that LiteRT's CPU detection (cpuinfo, which XNNPACK uses to pick its kernels) sees that
  board's cores instead of the x86_64 host's.

Standard library only, so it runs with any python3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

PREFIX = "cats_and_dogs_filtered/validation"
PICKS = {"cats": [f"cat.{i}.jpg" for i in range(2000, 2020)],
         "dogs": [f"dog.{i}.jpg" for i in range(2000, 2020)]}
TRUNCATED_SOURCE = f"{PREFIX}/cats/cat.2020.jpg"
TOLERANCE = 0.02


@dataclass(frozen=True)
class Device:
    """A Raspberry Pi model as qemu and Linux describe it (facts from the boards' /proc/cpuinfo)."""

    name: str
    model: str
    qemu_cpu: str
    part: str
    variant: str
    revision: int
    bogomips: str
    features: str
    cores: int = 4


DEVICES = {d.name: d for d in (
    Device("pi3", "Raspberry Pi 3 Model B / Zero 2 W (Cortex-A53)", "cortex-a53", "0xd03", "0x0",
           4, "38.40", "fp asimd evtstrm crc32 cpuid"),
    Device("pi4", "Raspberry Pi 4 Model B (Cortex-A72)", "cortex-a72", "0xd08", "0x0", 3,
           "108.00", "fp asimd evtstrm crc32 cpuid"),
    Device("pi5", "Raspberry Pi 5 Model B (Cortex-A76)", "cortex-a76", "0xd0b", "0x4", 1,
           "108.00", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
           "asimdrdm lrcpc dcpop asimddp"),
)}
XNNPACK_LOG_LINE = "XNNPACK delegate"
# edge's own verdict, read from the loaded graph: the runtime logs the line above even when
# XNNPACK then takes no op (tflite-runtime 2.14 and int8 models).
XNNPACK_NOT_APPLIED = ("did not apply XNNPACK", "XNNPACK NOT applied")


def cpuinfo_text(device: Device) -> str:
    """/proc/cpuinfo as a 64-bit Raspberry Pi OS kernel prints it on `device`."""
    blocks = [
        f"processor\t: {i}\nBogoMIPS\t: {device.bogomips}\nFeatures\t: {device.features}\n"
        f"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: {device.variant}\n"
        f"CPU part\t: {device.part}\nCPU revision\t: {device.revision}\n"
        for i in range(device.cores)
    ]
    return "\n".join(blocks) + f"\nModel\t\t: {device.model}\n"


def write_images(zip_path: Path, out: Path) -> int:
    """Write the fixed 42-file folder to `out` (replacing it); returns the number of files."""
    if out.exists():
        shutil.rmtree(out)
    with zipfile.ZipFile(zip_path) as archive:
        for folder, names in PICKS.items():
            (out / folder).mkdir(parents=True)
            for name in names:
                (out / folder / name).write_bytes(archive.read(f"{PREFIX}/{folder}/{name}"))
        whole = archive.read(TRUNCATED_SOURCE)
    (out / "broken").mkdir()
    (out / "broken" / "truncated.jpg").write_bytes(whole[: len(whole) * 2 // 5])
    (out / "broken" / "not-an-image.jpg").write_text("this is a text file, not a JPEG\n")
    return sum(len(names) for names in PICKS.values()) + 2


def read_jsonl(path: Path) -> dict[str, dict]:
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[row["path"]] = row
    return rows


@dataclass(frozen=True)
class Comparison:
    """One file's verdict: `problem` is None when host and arm64 agree."""

    path: str
    host: str
    pi: str
    max_diff: float | None
    problem: str | None


def _describe(row: dict | None) -> str:
    if row is None:
        return "(missing)"
    if row.get("error_kind"):
        return f"error:{row['error_kind']}"
    return f"{row['label']} {row['confidence']:.4f}"


def compare_rows(host: dict[str, dict], pi: dict[str, dict],
                 tolerance: float = TOLERANCE) -> list[Comparison]:
    """Compare two runs file by file (see the module docstring for what must agree)."""
    out = []
    for path in sorted(host.keys() | pi.keys()):
        a, b = host.get(path), pi.get(path)
        diff, problem = None, None
        if a is None or b is None:
            problem = "only on the " + ("arm64 side" if a is None else "host")
        elif a.get("error_kind") or b.get("error_kind"):
            if a.get("error_kind") != b.get("error_kind"):
                problem = "different error"
        else:
            pa, pb = a.get("probabilities") or [], b.get("probabilities") or []
            if len(pa) != len(pb) or not pa:
                problem = "different number of classes"
            else:
                diff = max(abs(x - y) for x, y in zip(pa, pb, strict=True))
                if a["label"] != b["label"]:
                    problem = "different label"
                elif diff > tolerance:
                    problem = f"probability differs by more than {tolerance}"
        out.append(Comparison(path, _describe(a), _describe(b), diff, problem))
    return out


def format_table(host: dict[str, dict], runs: dict[str, list[Comparison]]) -> list[str]:
    """One line per file: the host's result, each arm64 run's, and what disagrees."""
    paths = sorted({c.path for comparisons in runs.values() for c in comparisons})
    by_run = {name: {c.path: c for c in comparisons} for name, comparisons in runs.items()}
    width = max([len(p) for p in paths] + [4])
    header = f"{'file':<{width}}  {'host':<18}" + "".join(
        f"  {name:<18}  {'|dp|':>6}" for name in runs)
    lines = [header + "  verdict"]
    for path in paths:
        cells, problems = [], []
        for name, table in by_run.items():
            c = table[path]
            diff = "" if c.max_diff is None else f"{c.max_diff:.4f}"
            cells.append(f"  {c.pi:<18}  {diff:>6}")
            if c.problem:
                problems.append(f"{name}: {c.problem}")
        host_cell = _describe(host.get(path))
        lines.append(f"{path:<{width}}  {host_cell:<18}" + "".join(cells) + "  "
                     + ("; ".join(problems) or "ok"))
    return lines


def parse_run(spec: str) -> tuple[str, Path]:
    """`NAME=PATH` or a bare PATH (named after the file)."""
    name, sep, path = spec.partition("=")
    return (name, Path(path)) if sep else (Path(spec).stem, Path(spec))


def used_xnnpack(jsonl: Path) -> bool | None:
    """Whether the run's stderr (saved beside its JSONL as .stderr) says XNNPACK was applied:
    edge's warning says when it was not; the runtime's log line (edge-classify --verbose
    shows it) alone says it was tried."""
    log = jsonl.with_suffix(".stderr")
    if not log.is_file():
        return None
    text = log.read_text(encoding="utf-8", errors="replace")
    if any(marker in text for marker in XNNPACK_NOT_APPLIED):
        return False
    return XNNPACK_LOG_LINE in text


def compare(args: argparse.Namespace) -> int:
    host = read_jsonl(args.host)
    if not host:
        print(f"pi-check: error: {args.host} has no rows", file=sys.stderr)
        return 1
    runs = dict(parse_run(spec) for spec in args.runs)
    results = {name: compare_rows(host, read_jsonl(path), args.tolerance)
               for name, path in runs.items()}
    print("\n".join(format_table(host, results)))
    kernels = {name: used_xnnpack(path) for name, path in [("host", args.host), *runs.items()]}
    errors = sum(_describe(row).startswith("error:") for row in host.values())
    summary = {"files": len(host), "error_rows": errors, "tolerance": args.tolerance,
               "xnnpack": kernels, "runs": {}}
    failed = False
    for name, rows in results.items():
        bad = [r for r in rows if r.problem]
        worst = max((r.max_diff for r in rows if r.max_diff is not None), default=0.0)
        verdict = f"{len(bad)} MISMATCHES" if bad else "agrees with the host"
        if kernels[name] is not None and kernels[name] != kernels["host"]:
            verdict += ("; ran WITHOUT XNNPACK while the host used it (not the kernels a Pi "
                        "runs)" if kernels["host"] else "; ran XNNPACK, the host did not")
            failed = True
        print(f"{name}: {len(rows)} files, largest probability difference {worst:.4f} "
              f"(tolerance {args.tolerance}): {verdict}")
        failed = failed or bool(bad)
        summary["runs"][name] = {"mismatches": len(bad), "max_probability_diff": worst}
    if args.summary:
        summary["arm64_venv_mib"] = args.venv_mib
        summary["seconds"] = {k: int(v) for k, v in (s.split("=", 1) for s in args.seconds)}
        if args.rss:
            summary["host_peak_rss_mib"] = json.loads(args.rss.read_text())
        args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if failed else 0


def peak_rss_mib(command: list[str]) -> tuple[int, float]:
    """Run `command`; return its exit status and its peak resident memory in MiB."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def rss(args: argparse.Namespace) -> int:
    result = {}
    for threads in args.threads:
        command = [args.exe, str(args.images), "--threads", str(threads), "--output", "-",
                   "--format", "jsonl", "--quiet"]
        if args.model:
            command[2:2] = ["--model", str(args.model)]
        status, mib = peak_rss_mib(command)
        if status > 1:
            print(f"pi-check: error: {' '.join(command)} exited {status}", file=sys.stderr)
            return 1
        result[str(threads)] = round(mib, 1)
        print(f"edge-classify --threads {threads}: peak RSS {mib:.1f} MiB")
    if args.out:
        args.out.write_text(json.dumps(result) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("images", help="write the fixed 42-file input folder")
    p.add_argument("--zip", type=Path, required=True, help="cats_and_dogs_filtered.zip")
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("compare", help="compare host and arm64 JSONL; exit 1 on a mismatch")
    p.add_argument("host", type=Path, help="the host's JSONL")
    p.add_argument("runs", nargs="+", metavar="[NAME=]JSONL",
                   help="arm64 runs; a FILE.stderr beside a JSONL tells which kernels ran")
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.add_argument("--summary", type=Path, help="also write the numbers to this JSON file")
    p.add_argument("--venv-mib", type=int)
    p.add_argument("--seconds", action="append", default=[], metavar="STAGE=N")
    p.add_argument("--rss", type=Path, help="JSON written by the rss command")
    p = sub.add_parser("rss", help="peak RSS of edge-classify per --threads value")
    p.add_argument("--exe", required=True, help="the edge-classify executable")
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--model", type=Path)
    p.add_argument("--threads", type=int, action="append", required=True)
    p.add_argument("--out", type=Path)
    p = sub.add_parser("cpuinfo", help="write a Raspberry Pi's /proc/cpuinfo")
    p.add_argument("--device", choices=sorted(DEVICES), required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("qemu-cpu", help="print the qemu CPU model of a Raspberry Pi")
    p.add_argument("device", choices=sorted(DEVICES))
    args = parser.parse_args(argv)
    if args.command == "images":
        if not args.zip.is_file():
            parser.error(f"{args.zip} not found; pass the path of cats_and_dogs_filtered.zip")
        print(f"pi-check: wrote {write_images(args.zip, args.out)} files to {args.out}",
              file=sys.stderr)
        return 0
    if args.command == "cpuinfo":
        args.out.write_text(cpuinfo_text(DEVICES[args.device]))
        return 0
    if args.command == "qemu-cpu":
        print(DEVICES[args.device].qemu_cpu)
        return 0
    return compare(args) if args.command == "compare" else rss(args)


if __name__ == "__main__":
    sys.exit(main())
