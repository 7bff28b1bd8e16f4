"""The Python half of `make pi-check` (scripts/pi_check.sh does the arm64 root and the runs).

- `images`: the fixed input folder, 20 cats and 20 dogs from the shared validation set plus two
  broken files (a truncated JPEG, a text file named .jpg), so every run compares the same files.
- `compare`: the host's and the arm64 run's JSONL side by side. A pass needs the same rows, the
  same label for every image, every probability within the tolerance, and the same error kind
  for every broken file; it prints the table and exits 1 on any mismatch.
- `rss`: peak resident memory of edge-classify per `--threads` value, for the Pi Zero 2 / Pi 3
  advice (measured on the host: RSS under qemu says nothing about a real Pi).

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


def format_table(rows: list[Comparison]) -> list[str]:
    width = max([len(r.path) for r in rows] + [4])
    lines = [f"{'file':<{width}}  {'host':<22}  {'arm64':<22}  {'max|dp|':>8}  verdict"]
    for r in rows:
        diff = "" if r.max_diff is None else f"{r.max_diff:.4f}"
        lines.append(f"{r.path:<{width}}  {r.host:<22}  {r.pi:<22}  {diff:>8}  "
                     f"{r.problem or 'ok'}")
    return lines


def compare(args: argparse.Namespace) -> int:
    host, pi = read_jsonl(args.host), read_jsonl(args.pi)
    if not host:
        print(f"pi-check: error: {args.host} has no rows", file=sys.stderr)
        return 1
    rows = compare_rows(host, pi, args.tolerance)
    print("\n".join(format_table(rows)))
    bad = [r for r in rows if r.problem]
    diffs = [r.max_diff for r in rows if r.max_diff is not None]
    worst = max(diffs, default=0.0)
    errors = sum(r.host.startswith("error:") for r in rows)
    print(f"{len(rows)} files ({errors} error rows), largest probability difference "
          f"{worst:.4f} (tolerance {args.tolerance}): "
          + (f"{len(bad)} MISMATCHES" if bad else "host and arm64 agree"))
    if args.summary:
        summary = {"files": len(rows), "error_rows": errors, "mismatches": len(bad),
                   "max_probability_diff": worst, "tolerance": args.tolerance,
                   "arm64_venv_mib": args.venv_mib,
                   "seconds": dict(s.split("=", 1) for s in args.seconds)}
        summary["seconds"] = {k: int(v) for k, v in summary["seconds"].items()}
        if args.rss:
            summary["host_peak_rss_mib"] = json.loads(args.rss.read_text())
        args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if bad else 0


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
    p.add_argument("host", type=Path)
    p.add_argument("pi", type=Path)
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
    args = parser.parse_args(argv)
    if args.command == "images":
        if not args.zip.is_file():
            parser.error(f"{args.zip} not found; pass the path of cats_and_dogs_filtered.zip")
        print(f"pi-check: wrote {write_images(args.zip, args.out)} files to {args.out}",
              file=sys.stderr)
        return 0
    return compare(args) if args.command == "compare" else rss(args)


if __name__ == "__main__":
    sys.exit(main())
