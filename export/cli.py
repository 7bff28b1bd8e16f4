"""`python -m export`: model4.keras -> .tflite (+ parity); `python -m export parity` re-checks.

Exit codes: 0 passed; 1 a user error (message, no traceback); 2 a usage error from the option
parser; 3 the parity gate failed (so CI tells a failed gate from a typo).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from export.config import DEFAULT_SEED, QUANTIZATIONS, ExportConfig
from export.errors import ExportError
from train.errors import PawliteError

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=False)
GATE_FAILED = 3
USER_ERRORS = (ExportError, PawliteError)

MODEL = typer.Option(Path("artifacts/model4.keras"), help="The trained Keras model.")
SPLIT = typer.Option(Path("artifacts/split.json"), help="The split manifest written by train.")
OUT = typer.Option(Path("artifacts"), help="Where .tflite files and parity.json/.md go.")
QUANT = typer.Option("int8", help=f"Variant: {' | '.join(QUANTIZATIONS)}.")
ALL = typer.Option(False, "--all", help="Make (or check) all four variants.")
DATA_DIR = typer.Option(None, help="The dataset folder, if it moved since split.json was written.")
RESIZE = typer.Option(None, help="Edge resize: tf-bilinear | pillow-bilinear (default: tf-bilinear"
                      " on export, the model's recorded method on parity).")
DROP = typer.Option(1.0, help="Largest |accuracy difference| in points, on the validation folder "
                    "and (when beyond chance) on the test split.")
AGREE = typer.Option(0.98, help="Smallest top-1 agreement on the validation folder (0..1).")
STUDY = typer.Option(True, help="Also measure resize vs quantization gaps (float32 reference).")
RUNS = typer.Option(50, min=1, help="Single-image runs for the latency figure.")
THREADS = typer.Option(None, help="Interpreter threads (default: half the CPU cores, as edge).")


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)


@app.callback(invoke_without_command=True)
def export(
    ctx: typer.Context,
    model: Path = MODEL,
    split: Path = SPLIT,
    out: Path = OUT,
    quantization: str = QUANT,
    all_variants: bool = ALL,
    representative_count: int = typer.Option(
        ExportConfig.representative_count, min=1, help="int8 calibration images."),
    seed: int = typer.Option(DEFAULT_SEED, help="Seed for the calibration sample."),
    bias_correction_images: int = typer.Option(
        ExportConfig.bias_correction_images, min=0,
        help="Calibration images used to correct int8's per-channel bias offsets (0: off)."),
    data_dir: Path = DATA_DIR,
    resize: str = RESIZE,
    max_accuracy_drop: float = DROP,
    min_agreement: float = AGREE,
    resize_study: bool = STUDY,
    latency_runs: int = RUNS,
    num_threads: int = THREADS,
    parity: bool = typer.Option(True, help="Run the parity gate after converting."),
) -> None:
    """Convert the Keras model to .tflite (labels inside), then run the parity gate."""
    if ctx.invoked_subcommand is not None:
        return
    _setup_logging()
    try:
        config = ExportConfig(
            model=model, split=split, out=out, quantization=quantization,
            all_variants=all_variants, representative_count=representative_count, seed=seed,
            bias_correction_images=bias_correction_images,
            data_dir=data_dir, resize=resize, max_accuracy_drop=max_accuracy_drop,
            min_agreement=min_agreement, resize_study=resize_study, latency_runs=latency_runs,
            num_threads=num_threads,
        )
        passed = run(config, with_parity=parity)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    if not passed:
        raise typer.Exit(GATE_FAILED)


@app.command("parity")
def parity_command(
    model: Path = MODEL,
    split: Path = SPLIT,
    out: Path = OUT,
    quantization: str = QUANT,
    all_variants: bool = ALL,
    tflite: Path = typer.Option(None, help="Check this .tflite instead of the variants in --out."),
    data_dir: Path = DATA_DIR,
    resize: str = RESIZE,
    max_accuracy_drop: float = DROP,
    min_agreement: float = AGREE,
    resize_study: bool = STUDY,
    latency_runs: int = RUNS,
    num_threads: int = THREADS,
) -> None:
    """Compare Keras and the exported .tflite (through edge); exit 3 when a threshold fails."""
    _setup_logging()
    try:
        config = ExportConfig(
            model=model, split=split, out=out, quantization=quantization,
            all_variants=all_variants, tflite=tflite, data_dir=data_dir, resize=resize,
            max_accuracy_drop=max_accuracy_drop, min_agreement=min_agreement,
            resize_study=resize_study, latency_runs=latency_runs, num_threads=num_threads,
        )
        passed = run_parity_only(config)
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    if not passed:
        raise typer.Exit(GATE_FAILED)


@app.command("describe")
def describe_command(
    model: Path = typer.Argument(..., help="A .tflite image classifier made by another tool."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the described model."),
    labels: Path = typer.Option(None, help="Class names, one per line (default: the model's)."),
    mean: str = typer.Option(None, help="Float input: (pixel - MEAN) / STD, one value or three."),
    std: str = typer.Option(None, help="See --mean."),
    name: str = typer.Option(None, help="Model name in the metadata (default: file name)."),
) -> None:
    """Write standard TFLite Metadata (labels, normalization) into a foreign model, so it runs
    without flags in edge-classify, MediaPipe Tasks and the TFLite Task Library."""
    from edge.describe import format_description
    from edge.modelspec import parse_numbers
    from export.describe import DescribeConfig, describe

    try:
        config = DescribeConfig(model=model, out=out, labels=labels, name=name,
                                mean=parse_numbers(mean, "--mean"),
                                std=parse_numbers(std, "--std"))
        rows = describe(config)
    except (ValueError, *USER_ERRORS) as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {out}; edge now reads it as:")
    typer.echo(format_description(rows), nl=False)


def run(config: ExportConfig, with_parity: bool = True) -> bool:
    """Export every requested variant, then (optionally) gate them; True when all passed."""
    from export.converter import export_models, load_keras_model
    from export.parity import load_split, run_parity

    split = load_split(config)
    model = load_keras_model(config.model)
    for exported in export_models(config, split, model):
        typer.echo(f"wrote {exported.path} ({exported.size_bytes / 1e6:.2f} MB, "
                   f"{exported.variant})")
    if not with_parity:
        return True
    return _show(run_parity(config, split, model), config)


def run_parity_only(config: ExportConfig) -> bool:
    from export.parity import run_parity

    return _show(run_parity(config), config)


def _show(report: dict, config: ExportConfig) -> bool:
    for row in report["variants"]:
        failed = [c["name"] for c in row["checks"] if not c["passed"]]
        status = "passed" if not failed else "FAILED: " + "; ".join(failed)
        t, v = row["sets"]["test"], row["sets"]["validation_folder"]
        lo, hi = t["accuracy_diff_95ci_points"]
        typer.echo(
            f"{row['variant']}: test {t['tflite_accuracy']:.2%} vs Keras {t['keras_accuracy']:.2%}"
            f" ({t['accuracy_diff_points']:+.2f} points, 95% interval {lo:+.2f} to {hi:+.2f};"
            f" {t['changed_verdicts']['keras_right_tflite_wrong']} lost, "
            f"{t['changed_verdicts']['tflite_right_keras_wrong']} gained), agreement "
            f"{v['agreement']:.2%} on "
            f"{v['n']} images, {row['size_bytes'] / 1e6:.2f} MB, {row['latency_ms']:.1f} ms: "
            f"{status}"
        )
    typer.echo(f"report: {config.out / 'parity.md'}")
    return bool(report["passed"])


def main() -> None:
    app(prog_name="python -m export")
