"""What edge reads from a model, and writing it into a model someone else made.

`edge-classify --info`: a preprocessing mismatch gives confident, wrong labels rather than an
error, so the one way to debug it is to see every decision of `edge.modelfile.modelspec` with
the place it came from, and the kernels that will run it (a run without XNNPACK rounds int8
differently).

`python -m edge.describe MODEL -o OUT`: a bare classifier (Teachable Machine, an old zoo model)
needs `--labels` and maybe `--mean/--std` on every run, and MediaPipe Tasks refuses it
outright. Writing its labels and normalization into the file once, in the layout MediaPipe and
the TFLite Task Library read, makes it run without flags everywhere. It needs no TensorFlow
(`edge.modelfile.metadata_writer`), so it runs where edge runs; what edge reads from the result is
printed afterwards, the description `--info` gives.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from edge.errors import EdgeError, UsageError
from edge.options import ModelOptions

COMMAND = "python -m edge.describe"


def describe_model(config: ModelOptions, exif_rotate: bool = True) -> list[tuple[str, str]]:
    """(field, value) pairs for the model `config` names, loaded with its options and the
    interpreter threads a run with the same --threads would use."""
    from edge.classifier import open_classifier

    classifier = open_classifier(config, exif_rotate)
    rows = classifier.spec.describe()
    rows.append(("runtime", classifier.kernels.describe()))
    return rows


def format_description(rows: list[tuple[str, str]]) -> str:
    width = max(len(field) for field, _ in rows)
    return "".join(f"{field:<{width}}  {value}\n" for field, value in rows)


@dataclass(frozen=True)
class DescribeConfig(ModelOptions):
    """Write `out`: the model options' model (required), its labels and normalization
    (`labels`, `mean`, `std` default to what edge already reads from the model; for a
    quantized input the normalization is derived from its scale and zero point)."""

    out: Path
    name: str | None = None


def describe(config: DescribeConfig) -> list[tuple[str, str]]:
    """Write `config.out`; returns edge's description of the written model. Raises UsageError
    for an output that cannot be written, ModelLoadError for a model that cannot be read."""
    from edge.classifier import Classifier, open_classifier
    from edge.modelfile.metadata_writer import build_model_metadata, populate

    if config.model is None:
        raise UsageError("name the model to describe.")
    if config.out.is_dir():
        raise UsageError(f"{config.out} is a folder: name the file to write, e.g. "
                         f"{config.out / (config.model.stem + '_described.tflite')}.")
    for what, path in (("model", config.model), ("labels file", config.labels)):
        if path is not None and _same_file(config.out, path):
            raise UsageError(f"{config.out} is the {what} {path} (the same file, perhaps "
                             "through a link): write the described model to a new file "
                             "(-o), not over the original.")
    try:
        source = open_classifier(config)
    except ValueError as e:
        raise UsageError(f"{e}") from None
    spec = source.spec.input
    if spec.dtype == "float32":
        mean, std = spec.mean, spec.std
    else:
        mean, std = _folded_normalization(spec.dtype, spec.scale, spec.zero_point)
    labels_name = "labels.txt"
    data = config.model.read_bytes()
    meta = build_model_metadata(
        config.name or config.model.stem,
        f"Image classifier described by pawlite from {config.model.name}.",
        "1", (spec.height, spec.width), mean=mean, std=std, labels_file=labels_name,
        probabilities=source.output_kind == "probabilities", pawlite_file=False,
        author="described by pawlite",
    )
    labels_text = "".join(f"{name}\n" for name in source.class_names).encode()
    try:
        config.out.parent.mkdir(parents=True, exist_ok=True)
        temp = config.out.with_name(f".{config.out.name}.tmp")
        temp.write_bytes(populate(data, meta, {labels_name: labels_text}))
        os.replace(temp, config.out)
    except OSError as e:
        raise UsageError(f"cannot write {config.out}: {e.strerror or e}. Choose a file in a "
                         "folder you can write to.") from None
    return Classifier(config.out, num_threads=1).spec.describe()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _folded_normalization(dtype: str, scale: float, zero_point: int):
    """What a quantized input's scale and zero point say about training-time normalization:
    real = scale * (q - zero_point) with q = pixel (uint8) or pixel - 128 (int8)."""
    if not scale:
        return (0.0,), (1.0,)
    shift = 128 if dtype == "int8" else 0
    return (float(zero_point + shift),), (1.0 / scale,)


def run(model: Path, out: Path, labels: Path | None, mean: str | None, std: str | None,
        name: str | None) -> int:
    """Describe and print the result, or print the user error; returns the exit status."""
    from edge.errors import ModelLoadError

    try:
        config = DescribeConfig(out=out, name=name, **DescribeConfig.values_from(
            {"model": model, "labels": labels, "mean": mean, "std": std}))
        rows = describe(config)
    except ModelLoadError as e:
        sys.stderr.write(f"error: {e}\n")
        return 3
    except EdgeError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2 if isinstance(e, UsageError) else 1
    sys.stdout.write(f"wrote {out}; edge now reads it as:\n")
    sys.stdout.write(format_description(rows))
    return 0


def command_app() -> typer.Typer:
    """The `python -m edge.describe` command (also what docs/cli.md is generated from)."""

    def command(
        model: Annotated[Path, typer.Argument(
            metavar="MODEL", help="A .tflite image classifier made by another tool.",
            show_default=False)],
        out: Annotated[Path, typer.Option(
            "--out", "-o", help="Where to write the described model.", show_default=False)],
        labels: Annotated[Path | None, typer.Option(
            help="Class names, one per line (default: the model's).")] = None,
        mean: Annotated[str | None, typer.Option(
            help="Float input: (pixel - MEAN) / STD, one value or three.")] = None,
        std: Annotated[str | None, typer.Option(help="See --mean.")] = None,
        name: Annotated[str | None, typer.Option(
            help="Model name in the metadata (default: file name).")] = None,
    ) -> None:
        """Write standard TFLite Metadata (labels, normalization) into a foreign model, so it
        runs without flags in edge-classify, MediaPipe Tasks and the TFLite Task Library."""
        raise typer.Exit(run(model, out, labels, mean, std, name))

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                      rich_markup_mode=None,
                      context_settings={"help_option_names": ["-h", "--help"]})
    app.command()(command)
    return app


def main() -> None:
    """`python -m edge.describe`."""
    command_app()(prog_name=COMMAND)


if __name__ == "__main__":
    main()
