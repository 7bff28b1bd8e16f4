"""`python -m export`: modelN.keras -> .tflite (+ parity); `python -m export parity` re-checks;
`python -m export bundle` ships model4's int8 export unless another that passed its gate is
better beyond chance on images that chose nothing for either.

Exit codes, as every pawlite command: 0 passed; 1 a user error (`error: <message>` on stderr, no
traceback); 2 a usage error from the option parser; 3 the parity gate failed (so CI tells a
failed gate from a typo).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from export.config import QUANTIZATIONS, ExportConfig
from export.errors import ExportError
from train.errors import PawliteError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help=__doc__.split("\n\n")[0], no_args_is_help=False)
GATE_FAILED = 3
USER_ERRORS = (ExportError, PawliteError)
D = ExportConfig  # every default below is the config's own

MODEL = typer.Option(D.model, help="The trained Keras model (default: the best validated "
                     "MobileNetV2-based model, model4 or model5, beside --split; see "
                     "metrics.json).")
SPLIT = typer.Option(D.split, help="The split manifest written by train.")
OUT = typer.Option(D.out, help="Where .tflite files go; parity.json/.md and the figures go to "
                   "OUT/<model>_parity/.")
QUANT = typer.Option(D.quantization, help=f"Variant: {' | '.join(QUANTIZATIONS)}.")
ALL = typer.Option(D.all_variants, "--all", help="Make (or check) all four variants.")
DATA_DIR = typer.Option(D.data_dir, help="The dataset folder, if it moved since split.json was "
                        "written.")
RESIZE = typer.Option(D.resize, help="Edge resize: tf-bilinear | pillow-bilinear (default: "
                      "tf-bilinear on export, the model's recorded method on parity).")
DROP = typer.Option(D.max_accuracy_drop, help="Largest accuracy loss (Keras minus TFLite) in "
                    "points, on the validation folder and (when beyond chance) on the test "
                    "split; a gain never fails.")
AGREE = typer.Option(D.min_agreement, help="Smallest top-1 agreement (0..1) on the "
                     "validation-folder images where Keras is confident (see --confident-level).")
CONFIDENT = typer.Option(D.confident_level, help="Keras top-1 probability from which an image "
                         "counts as confident for the agreement rule; on the unsure rest, no "
                         "more answers may change than coin tosses would.")
STUDY = typer.Option(D.resize_study, help="Also measure resize vs quantization gaps (float32 "
                     "reference).")
RUNS = typer.Option(D.latency_runs, min=1, help="Single-image runs for the latency figure.")
THREADS = typer.Option(D.num_threads, help="Interpreter threads (default: half the CPU cores, "
                       "as edge).")
COUNT = typer.Option(D.representative_count, min=1, help="int8 calibration images.")
SEED = typer.Option(D.seed, help="Seed for the calibration sample.")
BIAS = typer.Option(D.bias_correction_images, min=0, help="Calibration images used to correct "
                    "int8's per-channel bias offsets (0: off).")
TFLITE = typer.Option(D.tflite, help="Check this .tflite instead of the variants in --out.")


@app.callback(invoke_without_command=True)
def export(
    ctx: typer.Context, model: Path = MODEL, split: Path = SPLIT, out: Path = OUT,
    quantization: str = QUANT, all_variants: bool = ALL, representative_count: int = COUNT,
    seed: int = SEED, bias_correction_images: int = BIAS, data_dir: Path = DATA_DIR,
    resize: str = RESIZE, max_accuracy_drop: float = DROP, min_agreement: float = AGREE,
    confident_level: float = CONFIDENT,
    resize_study: bool = STUDY, latency_runs: int = RUNS, num_threads: int = THREADS,
    parity: bool = typer.Option(True, help="Run the parity gate after converting."),
) -> None:
    """Convert the Keras model to .tflite (labels inside), then run the parity gate."""
    if ctx.invoked_subcommand is not None:
        return
    options = {k: v for k, v in locals().items() if k not in ("ctx", "parity")}
    _gate(options, lambda config: _export(config, parity))


@app.command("parity")
def parity_command(
    model: Path = MODEL, split: Path = SPLIT, out: Path = OUT, quantization: str = QUANT,
    all_variants: bool = ALL, tflite: Path = TFLITE, data_dir: Path = DATA_DIR,
    resize: str = RESIZE, max_accuracy_drop: float = DROP, min_agreement: float = AGREE,
    confident_level: float = CONFIDENT,
    resize_study: bool = STUDY, latency_runs: int = RUNS, num_threads: int = THREADS,
) -> None:
    """Compare Keras and the exported .tflite (through edge); exit 3 when a threshold fails."""
    _gate(dict(locals()), _parity)


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
    without flags in edge-classify, MediaPipe Tasks and the TFLite Task Library (the same as
    `python -m edge.describe`, which needs no TensorFlow)."""
    from edge.describe import DescribeConfig, describe, format_description
    from edge.errors import EdgeError

    try:
        config = DescribeConfig(out=out, name=name, **DescribeConfig.values_from(
            {"model": model, "labels": labels, "mean": mean, "std": std}))
        rows = describe(config)
    except (ValueError, EdgeError, *USER_ERRORS) as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {out}; edge now reads it as:")
    typer.echo(format_description(rows), nl=False)


@app.command("bundle")
def bundle_command(
    artifacts: Path = typer.Option(Path("artifacts"), help="Where `python -m export` wrote the "
                                   ".tflite files and their <model>_parity/ reports."),
    dest: Path = typer.Option(Path("edge/models"), help="edge's bundled-model folder."),
) -> None:
    """Ship model4's int8 export, or another that passed its parity gate and is better beyond
    chance (McNemar) on images that chose nothing for either, with its report and pictures."""
    from export.bundle import BUNDLED_NAME, BundleConfig, bundle, summary_lines

    try:
        chosen, markdown = bundle(BundleConfig(artifacts=artifacts, dest=dest))
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    for line in summary_lines(markdown.with_name("parity.json")):
        typer.echo(line)
    typer.echo(f"bundled {chosen.tflite} ({chosen.model}) as {dest / BUNDLED_NAME}; "
               f"report: {markdown}")


def _gate(options: dict, action) -> None:
    """Build the config, run `action(config) -> passed`, and map the outcome to the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        passed = action(ExportConfig(**options))
    except USER_ERRORS as exc:
        raise _fail(exc) from None
    if not passed:
        raise typer.Exit(GATE_FAILED)


def _export(config: ExportConfig, with_parity: bool) -> bool:
    from export.pipeline import run

    def wrote(exported) -> None:
        typer.echo(f"wrote {exported.path} ({exported.size_bytes / 1e6:.2f} MB, "
                   f"{exported.variant})")

    result = run(config, with_parity=with_parity, on_export=wrote)
    return _show(result.report, config) if result.report is not None else True


def _parity(config: ExportConfig) -> bool:
    from export.pipeline import check

    return _show(check(config), config)


def _show(report: dict, config: ExportConfig) -> bool:
    from export.config import report_dir
    from export.report import console_lines

    for line in console_lines(report):
        typer.echo(line)
    typer.echo(f"report: {report_dir(config.out, report['keras_model']) / 'parity.md'}")
    return bool(report["passed"])


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


def main() -> None:
    app(prog_name="python -m export")
