"""`make bench`: edge-classify against the study's Keras predict, a naive loop and MediaPipe.

All contenders run in one invocation, one subprocess each, on the same warm files, so the
ratios are comparable even on a noisy machine. Per contender and image set it reports:
- images/s: steady rate from the first result to the last (startup is the next column);
- first result: seconds from the parent's spawn of the process to its first result;
- wall: spawn to exit, what a user waits in total;
- peak RSS of that process alone (its VmHWM), its CPU seconds, the 1-minute load average
  before (after waiting up to --max-settle s for it to fall to 0.5) and after it, and the CPU
  other processes used while it ran;
then the start-up timings (scripts/bench/startup.py) and every goal of goals.py, PASS/FAIL.
edge-classify is timed from the outside (each CSV row is flushed as it is produced); the
others print time stamps (scripts/bench/workers.py). The parent never imports TensorFlow.

    python -m scripts.bench [--quick] [--data-dir DIR] [--model M.tflite] [--keras-model M.keras]
                              [--baseline GIT-REF] [--write-doc]

`--write-doc` (what `make bench` passes) puts this run's output between the
`<!-- bench-table:start -->` and `<!-- bench-table:end -->` markers of docs/bench.md, unless the
machine was not quiet (report.refusal: load above 0.5); then it says why, writes nothing there
and exits 4. The output always goes to OUT/bench.md and OUT/bench.json.

`--baseline REF` adds a row "a0 edge-classify @REF": the same command from a git worktree of
REF (same venv and runtime), so a change to edge is measured against the code before it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .data import dataset_root, image_files, large_photos, subset, warm_cache
from .machine import QUIET_LOAD, cpu_model, load, settle
from .report import DOC_FILE, Measurement, checks, refusal, render, write_between_markers
from .spawn import spawn
from .startup import measure as measure_startup

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUNDLED = ROOT / "edge" / "models" / "cats_vs_dogs_int8.tflite"
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "cats_and_dogs_filtered.zip"
DEFAULT_WEIGHTS = ROOT.parent / "shared" / "models" / "mobilenet_v2_1.0_160_no_top.h5"
TIMEOUT = 1800
EXIT_NOT_QUIET = 4


@dataclass(frozen=True)
class BenchConfig:
    out: Path
    data_dir: Path | None
    data_zip: Path
    model: Path | None
    keras_model: Path | None
    weights: Path
    mediapipe_python: str | None
    count: int | None
    large_count: int
    large_size: tuple[int, int]
    contenders: tuple[str, ...] = ("a", "b", "c", "d")
    baseline: str | None = None
    max_settle: float = 90.0
    repeats: int = 5
    write_doc: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchConfig:
        width, _, height = args.large_size.partition("x")
        return cls(
            out=args.out, data_dir=args.data_dir or _env_path("PAWLITE_DATA_DIR"),
            data_zip=args.data_zip, model=args.model,
            keras_model=args.keras_model, weights=args.weights,
            mediapipe_python=args.mediapipe_python or os.environ.get("PAWLITE_MEDIAPIPE_PYTHON"),
            count=args.count or (100 if args.quick else None),
            large_count=args.large_count or (20 if args.quick else 200),
            large_size=(int(width), int(height)),
            contenders=tuple(args.contenders.split(",")),
            baseline=args.baseline,
            max_settle=args.max_settle if args.max_settle is not None else (0 if args.quick
                                                                            else 90),
            repeats=args.repeats or (1 if args.quick else 5),
            write_doc=args.write_doc,
        )


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 validation images and 20 large ones: a smoke test")
    parser.add_argument("--data-dir", type=Path,
                        help="dataset folder holding validation/ (default: $PAWLITE_DATA_DIR, "
                        "else --data-zip extracted under --out)")
    parser.add_argument("--data-zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--model", type=Path,
                        help=f"int8 .tflite (default: {BUNDLED.relative_to(ROOT)}, else a "
                        "stand-in built from --weights)")
    parser.add_argument("--keras-model", type=Path,
                        help="the study's model "
                        "(default: artifacts/model4.keras, else the stand-in)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="MobileNetV2 no-top weights for the stand-in models")
    parser.add_argument("--mediapipe-python", help="a python that imports mediapipe "
                        "(default: $PAWLITE_MEDIAPIPE_PYTHON, else this one)")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench")
    parser.add_argument("--count", type=int, help="validation images to use (default: all)")
    parser.add_argument("--large-count", type=int, help="12 MP photos (default 200, quick 20)")
    parser.add_argument("--large-size", default="4000x3000", help="WxH of the large photos")
    parser.add_argument("--contenders", default="a,b,c,d",
                        help="which to run, e.g. a,c while tuning (the goals need all)")
    parser.add_argument("--baseline", metavar="GIT-REF",
                        help="also run edge-classify as it was at this commit (e.g. HEAD~3)")
    parser.add_argument("--max-settle", type=float, metavar="SECONDS",
                        help=f"before each contender, wait up to this long for the 1-minute "
                        f"load to fall to {QUIET_LOAD} (default 90, quick 0)")
    parser.add_argument("--repeats", type=int,
                        help="runs of each start-up timing, median reported (default 5, quick 1)")
    parser.add_argument("--write-doc", action="store_true",
                        help=f"put the output between the bench-table markers of {DOC_FILE}; "
                        f"refused (exit {EXIT_NOT_QUIET}) when "
                        f"the load was above {QUIET_LOAD}")
    return parser.parse_args(argv)


def baseline_checkout(ref: str, out: Path) -> Path:
    """A git worktree of `ref` under `out` (made once per commit)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref],
                            capture_output=True, text=True, check=True).stdout.strip()
    tree = out / f"baseline-{commit}"
    if not (tree / "edge").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force",
                        str(tree), commit], check=True, capture_output=True)
    return tree


def models(config: BenchConfig) -> tuple[Path, Path]:
    """(tflite, keras): given, bundled/trained, or stand-ins built once into out/models."""
    tflite = config.model or (BUNDLED if BUNDLED.is_file() else None)
    trained = ROOT / "artifacts" / "model4.keras"
    keras_model = config.keras_model or (trained if trained.is_file() else None)
    standin = config.out / "models"
    if tflite is None or keras_model is None:
        if not (standin / "standin_int8.tflite").is_file():
            root = dataset_root(config.data_dir, config.data_zip, config.out / "data")
            print(f"building stand-in models into {standin} (once)", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "scripts.bench.model", "--weights",
                            str(config.weights), "--calibration", str(root / "train"),
                            "--out", str(standin)], check=True, stdout=subprocess.DEVNULL,
                           cwd=ROOT)
        tflite = tflite or standin / "standin_int8.tflite"
        keras_model = keras_model or standin / "standin_model4.keras"
    return tflite, keras_model


def mediapipe_python(config: BenchConfig) -> str | None:
    """A python that can import mediapipe, or None."""
    for python in (config.mediapipe_python, sys.executable):
        try:
            found = python and subprocess.run([python, "-c", "import mediapipe"],
                                              capture_output=True, timeout=120).returncode == 0
        except OSError:
            found = False
        if found:
            return python
    return None


def contenders(tflite: Path, keras_model: Path, mp_python: str | None,
               baseline: tuple[str, Path] | None = None) -> dict:
    """name -> (argv builder for a folder, or None when not runnable; times from stdout rows)."""
    edge = shutil.which("edge-classify", path=str(Path(sys.executable).parent)) or "edge-classify"
    workers = str(HERE / "workers.py")
    rows = {}
    if baseline is not None:
        ref, tree = baseline
        start = f"import sys; sys.path.insert(0, {str(tree)!r}); from edge.cli import main; main()"
        rows[f"a0 edge-classify @{ref}"] = (
            lambda d: [sys.executable, "-c", start, str(d), "--model", str(tflite), "--quiet"],
            True)
    return {
        **rows,
        "a edge-classify": (lambda d: [edge, str(d), "--model", str(tflite), "--quiet"], True),
        "b keras predict": (lambda d: [sys.executable, workers, "keras", str(keras_model), str(d)],
                            False),
        "c naive loop": (lambda d: [sys.executable, workers, "naive", str(tflite), str(d)], False),
        "d mediapipe tasks": ((lambda d: [mp_python, workers, "mediapipe", str(tflite), str(d)])
                              if mp_python else None, False),
    }


def run(config: BenchConfig) -> dict:
    """Measure every contender on both sets; returns everything the report prints."""
    load_start = os.getloadavg()
    config.out.mkdir(parents=True, exist_ok=True)
    root = dataset_root(config.data_dir, config.data_zip, config.out / "data")
    validation = subset(root / "validation", config.count, config.out / "validation-subset")
    large = large_photos(image_files(root / "validation"), config.large_count,
                         config.large_size, config.out / "large")
    tflite, keras_model = models(config)
    mp_python = mediapipe_python(config) if "d" in config.contenders else None
    baseline = ((config.baseline, baseline_checkout(config.baseline, config.out))
                if config.baseline else None)
    megapixels = round(config.large_size[0] * config.large_size[1] / 1e6, 1)
    sets = {"validation": validation, f"{megapixels:g} MP": large}
    results: dict[str, dict[str, Measurement]] = {}
    for set_name, folder in sets.items():
        files = image_files(folder)
        megabytes = warm_cache(files) / 1e6
        results[set_name] = {}
        print(f"{set_name}: {len(files)} images, {megabytes:.0f} MB, in {folder}", file=sys.stderr)
        for name, (argv, edge_rows) in contenders(tflite, keras_model, mp_python,
                                                  baseline).items():
            if name[0] not in config.contenders:
                continue
            if argv is None:
                results[set_name][name] = Measurement(note="not installed (pass "
                                                      "--mediapipe-python)")
                continue
            log = config.out / f"{set_name.replace(' ', '')}-{name.split()[0]}.log"
            before = settle(QUIET_LOAD, config.max_settle)[0]
            measured = spawn(argv(folder), len(files), edge_rows, log)
            results[set_name][name] = replace(measured, load_before=before,
                                              load_after=load()[0])
            print(f"  {name}: {results[set_name][name].summary()}", file=sys.stderr)
    settle(QUIET_LOAD, config.max_settle)
    edge = contenders(tflite, keras_model, mp_python)["a edge-classify"][0](validation)[:1]
    startup = measure_startup(edge, one_image(validation, config.out / "one-image"), tflite,
                              config.repeats, config.out)
    print(f"start-up: --help {startup.help_s}, one image first result "
          f"{startup.one_image_first_s}, cold start {startup.cold_start_s} s", file=sys.stderr)
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_start": load_start,
            "load_end": load(), "cpus": os.cpu_count(), "cpu_model": cpu_model(),
            "model": str(tflite), "keras_model": str(keras_model),
            "mediapipe_python": mp_python, "results": results, "startup": startup}


def one_image(validation: Path, dest: Path) -> Path:
    """A folder holding (a link to) the first validation image, for the one-image run."""
    first = image_files(validation)[0]
    target = dest / first.name
    if not target.exists():
        dest.mkdir(parents=True, exist_ok=True)
        try:
            os.link(first, target)
        except OSError:
            shutil.copyfile(first, target)
    return dest


def main(argv: list[str] | None = None) -> int:
    config = BenchConfig.from_args(parse_args(argv))
    report = run(config)
    verdicts = checks(report["results"], report["startup"])
    text = render(report, verdicts)
    print(text)
    (config.out / "bench.md").write_text(text + "\n")
    plain = {**report, "results": {s: {n: asdict(m) for n, m in r.items()}
                                   for s, r in report["results"].items()},
             "startup": asdict(report["startup"]), "goals": [asdict(c) for c in verdicts]}
    (config.out / "bench.json").write_text(json.dumps(plain, indent=1) + "\n")
    failed = any(m.note.startswith("failed") for r in report["results"].values()
                 for m in r.values())
    if config.write_doc:
        reason = refusal(report)
        if reason is not None:
            print(f"not writing {DOC_FILE}: the machine was not quiet ({reason}). "
                  "Run again when it is.", file=sys.stderr)
            return EXIT_NOT_QUIET
        write_between_markers(ROOT / DOC_FILE, text)
        print(f"wrote the table into {DOC_FILE}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
