"""The export stage's configuration, shared by `python -m export` and the Python API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.pixels.decode import RESIZE_METHODS
from export.errors import ExportError

QUANTIZATIONS = ("int8", "float16", "dynamic", "float32")
DEFAULT_SEED = 1337


def report_dir(out: Path, model: Path) -> Path:
    return Path(out) / f"{Path(model).stem}_parity"


@dataclass(frozen=True)
class ExportConfig:
    """What an export and its parity check depend on; written into parity.json.

    `model` None means the best validated MobileNetV2-based model beside `split`
    (export.choose); the pipeline resolves it before anything reads it.

    `quantization` is the variant to make (`all_variants` makes the four). `tflite` points
    parity at one existing file (e.g. the model bundled with edge) instead of the variants under
    `out`. The first `bias_correction_images` calibration images measure int8's per-channel
    offsets (export.bias_correction; 0 turns it off). `resize` overrides the resize method
    recorded in the model for parity's edge path;
    `resize_study` also measures the other resize method and a float32 reference, to tell the
    resize gap from the quantization gap. Thresholds: `max_accuracy_drop` is the largest
    accuracy *loss* in points (one-sided: a gain never fails), on the whole validation folder
    and on the test split (there only when the loss is beyond chance, see
    export.parity.gate_checks); `min_agreement` the smallest top-1 agreement on the
    validation-folder images where Keras's top-1 probability is at least `confident_level`
    (the unsure rest is judged against coin tosses, see export.parity.gate_checks).
    """

    model: Path | None = None
    split: Path = Path("artifacts/split.json")
    out: Path = Path("artifacts")
    quantization: str = "int8"
    all_variants: bool = False
    representative_count: int = 300
    bias_correction_images: int = 64
    seed: int = DEFAULT_SEED
    max_accuracy_drop: float = 1.0
    min_agreement: float = 0.98
    confident_level: float = 0.8
    data_dir: Path | None = None
    tflite: Path | None = None
    resize: str | None = None
    resize_study: bool = True
    latency_runs: int = 50
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ExportError(
                f"Unknown quantization {self.quantization!r}: "
                f"use one of {', '.join(QUANTIZATIONS)}."
            )
        if self.resize is not None and self.resize not in RESIZE_METHODS:
            raise ExportError(
                f"Unknown resize method {self.resize!r}: use one of {', '.join(RESIZE_METHODS)}."
            )
        if self.representative_count < 1:
            raise ExportError("The representative dataset needs at least 1 image.")
        if self.bias_correction_images < 0:
            raise ExportError(
                f"bias_correction_images is a count (0 turns it off), got "
                f"{self.bias_correction_images}."
            )
        if not 0.0 <= self.min_agreement <= 1.0:
            raise ExportError(f"min_agreement is a fraction in 0..1, got {self.min_agreement}.")
        if not 0.0 <= self.confident_level <= 1.0:
            raise ExportError(
                f"confident_level is a probability in 0..1, got {self.confident_level}."
            )
        if self.max_accuracy_drop < 0:
            raise ExportError(
                f"max_accuracy_drop is in points, >= 0, got {self.max_accuracy_drop}."
            )

    @property
    def variants(self) -> tuple[str, ...]:
        return QUANTIZATIONS if self.all_variants else (self.quantization,)

    def tflite_path(self, variant: str) -> Path:
        """Where a variant is written, named after the model: `artifacts/model5_int8.tflite`."""
        return self.out / f"{self._chosen().stem}_{variant}.tflite"

    @property
    def report_dir(self) -> Path:
        """parity.json, parity.md and the figures of one Keras model: `artifacts/model5_parity/`,
        so that the reports of several exported models live side by side for `bundle`."""
        return report_dir(self.out, self._chosen())

    def _chosen(self) -> Path:
        if self.model is None:
            raise ExportError("No Keras model chosen yet: export.choose.resolve(config) first.")
        return self.model

    def to_json(self) -> dict:
        return {
            "model": str(self.model) if self.model else None,
            "split": str(self.split),
            "out": str(self.out),
            "quantization": self.quantization,
            "all_variants": self.all_variants,
            "representative_count": self.representative_count,
            "bias_correction_images": self.bias_correction_images,
            "seed": self.seed,
            "max_accuracy_drop": self.max_accuracy_drop,
            "min_agreement": self.min_agreement,
            "confident_level": self.confident_level,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "tflite": str(self.tflite) if self.tflite else None,
            "resize": self.resize,
            "resize_study": self.resize_study,
            "latency_runs": self.latency_runs,
            "num_threads": self.num_threads,
        }
