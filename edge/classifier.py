"""The Python API: `Classifier` turns image files or pixel batches into probabilities.

The CLI, export's parity check and the serverless handler all use this class, so the model's
metadata (class names, input size, resize method, output kind) is interpreted in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.decode import RESIZE_METHODS, load_image
from edge.errors import ImageError, ModelLoadError
from edge.modelinfo import parse_labels, read_labels, read_model_info
from edge.pipeline import ordered_batches
from edge.runtime import open_interpreter
from edge.scores import dequantize, quantize_input, softmax, top_k

BUNDLED_MODEL = Path(__file__).resolve().parent / "models" / "cats_vs_dogs_int8.tflite"
UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Result:
    """One row per input file. Failures carry `error_kind`/`error_message` and no label.

    With a threshold, `label` may be "uncertain" while `top_k[0]` keeps the raw top class and
    `confidence` its probability.
    """

    path: str
    label: str | None = None
    confidence: float | None = None
    top_k: tuple[tuple[str, float], ...] = ()
    probabilities: tuple[float, ...] | None = None
    error_kind: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def top_class(self) -> str | None:
        return self.top_k[0][0] if self.top_k else None

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "confidence": self.confidence,
            "top_class": self.top_class,
            "top_k": [[name, p] for name, p in self.top_k],
            "probabilities": list(self.probabilities) if self.probabilities is not None else None,
            "error_kind": self.error_kind,
            "error_message": self.error_message,
        }


class Classifier:
    """A loaded TFLite image classifier.

    `model_path=None` loads the bundled model. `labels` (a file path or a sequence of names) is
    only needed for foreign models without pawlite metadata. `resize=None` uses the method
    recorded in the metadata. `num_threads=None` gives the interpreter half the CPU cores.
    Not thread-safe: one interpreter, one caller at a time.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        labels: str | os.PathLike | Sequence[str] | None = None,
        num_threads: int | None = None,
        resize: str | None = None,
        exif_rotate: bool = True,
    ) -> None:
        path = Path(model_path) if model_path is not None else BUNDLED_MODEL
        if model_path is None and not path.is_file():
            raise ModelLoadError(
                f"the bundled model {path} is missing (the export stage puts it there): "
                "pass --model PATH to a .tflite file."
            )
        self.model_path = path
        self.info = read_model_info(path)
        self.interpreter = open_interpreter(path, num_threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        shape = tuple(int(d) for d in self._input["shape"])
        if len(shape) != 4 or shape[3] != 3:
            raise ModelLoadError(f"{path}: expected an image input (1, h, w, 3), got {shape}.")
        self.input_size = (shape[1], shape[2])
        signature = self._input.get("shape_signature")
        self._dynamic_batch = signature is not None and len(signature) > 0 and signature[0] == -1
        self._batch = shape[0]
        # uint8 pixel -> input tensor value, computed once: indexing is cheaper than arithmetic.
        pixels = np.arange(256, dtype=np.uint8)
        table = quantize_input(pixels, self._input["dtype"], *self._input["quantization"])
        # Raw-pixel uint8 inputs (the exported models) need no lookup, which cost ~5% of a step.
        identity = table.dtype == np.uint8 and np.array_equal(table, pixels)
        self._input_table = None if identity else table
        self.class_names = self._class_names(labels)
        self.resize = resize or (self.info.resize if self.info else "tf-bilinear")
        if self.resize not in RESIZE_METHODS:
            raise ModelLoadError(f"unknown resize method {self.resize!r}; use {RESIZE_METHODS}.")
        self.output_kind = self.info.output if self.info else "probabilities"
        self.exif_rotate = exif_rotate

    def _class_names(self, labels) -> tuple[str, ...]:
        if isinstance(labels, (str, os.PathLike)):
            try:
                names = parse_labels(Path(labels).read_text(encoding="utf-8"))
            except OSError as e:
                raise ModelLoadError(f"{labels}: cannot read the labels file ({e}).") from None
        elif labels is not None:
            names = tuple(str(n) for n in labels)
        elif self.info is not None:
            names = self.info.class_names
        else:
            names = read_labels(self.model_path)
        if not names:
            raise ModelLoadError(
                f"{self.model_path} has no pawlite metadata or labels.txt: "
                "pass --labels FILE with one class name per line."
            )
        classes = int(self._output["shape"][-1])
        if len(names) != classes:
            raise ModelLoadError(
                f"{len(names)} class names for a model with {classes} outputs; "
                "check --labels or the model's metadata."
            )
        return names

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """One file as model input, with this model's size and resize method."""
        return load_image(path, self.input_size, self.resize, self.exif_rotate)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(n, h, w, 3) uint8 pixels -> (n, classes) float32 probabilities."""
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != (*self.input_size, 3):
            height, width = self.input_size
            raise ValueError(f"expected (n, {height}, {width}, 3) pixels, got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        if self._dynamic_batch:
            return self._invoke(batch)
        step = self._batch
        return np.concatenate([self._invoke(batch[i:i + step]) for i in range(0, len(batch), step)])

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        if n != self._batch and self._dynamic_batch:
            self.interpreter.resize_tensor_input(self._input["index"], [n, *self.input_size, 3])
            self.interpreter.allocate_tensors()
            self._batch = n
        if n < self._batch:
            pad = np.zeros((self._batch - n, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, pad])
        if self._input_table is None:
            tensor = np.ascontiguousarray(batch, dtype=np.uint8)
        else:
            tensor = self._input_table[batch]
        self.interpreter.set_tensor(self._input["index"], tensor)
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self._output["index"])[:n]
        scores = dequantize(raw, *self._output["quantization"])
        return softmax(scores) if self.output_kind == "logits" else scores

    def classify_paths(
        self,
        paths: Iterable[str | os.PathLike],
        top_k: int = 1,
        threshold: float | None = None,
        batch_size: int = 8,
        workers: int | None = None,
    ) -> Iterator[Result]:
        """Classify files lazily, in input order; a file that fails is a Result with an error.

        Decoding runs in `workers` threads (default: one per CPU core; they only run ahead by
        a bounded window, so they yield the CPU when inference is the bottleneck) while this
        thread invokes the interpreter, which releases the GIL.
        """
        workers = workers or os.cpu_count() or 1
        for batch in ordered_batches(paths, self.load, max(1, batch_size), workers):
            good = [(p, x) for p, x in batch if isinstance(x, np.ndarray)]
            probabilities = iter(self.predict(np.stack([x for _, x in good])) if good else [])
            for path, value in batch:
                if isinstance(value, np.ndarray):
                    yield self._result(str(path), next(probabilities), top_k, threshold)
                else:
                    yield _error_result(str(path), value)

    def _result(self, path: str, probs: np.ndarray, k: int, threshold: float | None) -> Result:
        best = top_k(probs, self.class_names, k)
        label, confidence = best[0]
        if threshold is not None and confidence < threshold:
            label = UNCERTAIN
        return Result(path, label, confidence, tuple(best), tuple(float(p) for p in probs))


def _error_result(path: str, error: BaseException) -> Result:
    if isinstance(error, ImageError):
        return Result(path, error_kind=error.kind, error_message=str(error))
    return Result(path, error_kind="error", error_message=f"{type(error).__name__}: {error}")
