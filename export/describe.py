"""`python -m export describe`: write standard TFLite Metadata into a model someone else made.

A bare classifier (Teachable Machine, an old zoo model) needs `--labels` and maybe
`--mean/--std` on every run, and MediaPipe Tasks refuses it outright. Writing its labels and
normalization into the file once, in the layout MediaPipe and the TFLite Task Library read,
makes it run without flags everywhere. What edge reads from the result is shown afterwards, so
the user sees the same description `edge-classify --info` gives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from export.errors import ExportError


@dataclass(frozen=True)
class DescribeConfig:
    """`labels`, `mean`, `std` default to what edge already reads from the model; for a
    quantized input the normalization is derived from its scale and zero point."""

    model: Path
    out: Path
    labels: Path | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    name: str | None = None


def describe(config: DescribeConfig) -> list[tuple[str, str]]:
    """Write `config.out`; returns edge's description of the written model."""
    from edge.classifier import Classifier
    from edge.errors import ModelLoadError
    from export import metadata as md

    if config.out.is_dir():
        raise ExportError(f"{config.out} is a folder: name the file to write, e.g. "
                          f"{config.out / (config.model.stem + '_described.tflite')}.")
    for what, path in (("model", config.model), ("labels file", config.labels)):
        if path is not None and _same_file(config.out, path):
            raise ExportError(f"{config.out} is the {what} {path} (the same file, perhaps "
                              "through a link): write the described model to a new file "
                              "(-o), not over the original.")
    try:
        source = Classifier(config.model, config.labels, 1, mean=config.mean, std=config.std)
    except (ModelLoadError, ValueError) as e:
        raise ExportError(f"{e}") from None
    spec = source.spec.input
    if spec.dtype == "float32":
        mean, std = spec.mean, spec.std
    else:
        mean, std = _folded_normalization(spec.dtype, spec.scale, spec.zero_point)
    labels_name = "labels.txt"
    data = config.model.read_bytes()
    meta = md.build_model_metadata(
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
        temp.write_bytes(md.populate(data, meta, {labels_name: labels_text}))
        os.replace(temp, config.out)
    except OSError as e:
        raise ExportError(f"cannot write {config.out}: {e.strerror or e}. Choose a file in a "
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
