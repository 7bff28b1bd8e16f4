"""One export as Python functions: convert the variants, then gate them; the CLI only prints.

This is where the converter and parity meet: parity's resize study needs a float32 model
beside the checked ones, and the pipeline makes it with the converter, in a temporary folder
that lives as long as the check.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from export.config import ExportConfig

if TYPE_CHECKING:
    from export.converter import ExportedModel


@dataclass(frozen=True)
class ExportRun:
    """What `run` made: the written files and, unless skipped, the parity report."""

    exported: list[ExportedModel]
    report: dict | None

    @property
    def passed(self) -> bool:
        return self.report is None or bool(self.report["passed"])


def run(config: ExportConfig, with_parity: bool = True,
        on_export: Callable[[ExportedModel], None] | None = None) -> ExportRun:
    """Export every requested variant, then (optionally) gate them. `on_export` hears of each
    written file before the gate starts, which takes minutes on the real data."""
    from export.choose import resolve
    from export.converter import export_models
    from export.loaders import load_keras_model, load_split

    config, choice = resolve(config)
    split = load_split(config)
    model = load_keras_model(config.model)
    exported = export_models(config, split, model)
    if on_export is not None:
        for written in exported:
            on_export(written)
    report = check(config, split, model, choice) if with_parity else None
    return ExportRun(exported, report)


def check(config: ExportConfig, split=None, model=None, choice=None) -> dict:
    """The parity gate on what `config` names (written by `run`, or `config.tflite`)."""
    from export.choose import resolve
    from export.converter import export_models
    from export.parity import run_parity

    if choice is None:
        config, choice = resolve(config)

    with tempfile.TemporaryDirectory(prefix="pawlite-f32-") as tmp:
        def reference(split, model) -> Path:
            float32 = dataclasses.replace(config, out=Path(tmp), quantization="float32",
                                          all_variants=False)
            return export_models(float32, split, model)[0].path

        return run_parity(config, split, model, reference, choice)
