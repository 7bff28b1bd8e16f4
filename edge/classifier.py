"""The Python API: `Classifier` turns image files or pixel batches into probabilities.

The CLI, export's parity check and the serverless handler all use this class, so the model's
metadata (class names, input size, resize method, output kind) is interpreted in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge.errors import ImageError, ModelLoadError
from edge.modelfile.modelspec import pick_output, resolve_spec
from edge.options import ModelOptions, interpreter_threads, threads_in_all
from edge.pixels.decode import load_image
from edge.run.heap import TRIM_EVERY, release_free_memory
from edge.run.pipeline import ordered_batches
from edge.runtime import open_interpreter, runtime_log
from edge.scores import dequantize, prepare_input, softmax, top_k, two_classes

if TYPE_CHECKING:
    from edge.run.stageprofile import StageProfile

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
    """A loaded TFLite image classifier, fed and read as the model's own runtime would.

    `model_path=None` loads the bundled model. `labels` (a file path or a sequence of names)
    overrides the model's own. `mean`/`std` (one value or three) are for float models whose
    metadata does not give their normalization. `resize=None` uses the method recorded in the
    metadata; `crop="center"` crops to the input's aspect ratio first. `num_threads=None`
    gives the interpreter `edge.options.interpreter_threads()`. The rules are in
    `edge.modelfile.modelspec`; `self.spec` says what was decided and why, `self.kernels`
    (`edge.runtime.Kernels`) which runtime and kernels run it. Not thread-safe: one
    interpreter, one caller at a time.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        labels: str | os.PathLike | Sequence[str] | None = None,
        num_threads: int | None = None,
        resize: str | None = None,
        exif_rotate: bool = True,
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
        crop: str | None = None,
    ) -> None:
        path = Path(model_path) if model_path is not None else BUNDLED_MODEL
        if model_path is None and not path.is_file():
            raise ModelLoadError(
                f"the bundled model {path} is missing (the export stage puts it there): "
                "pass --model PATH to a .tflite file."
            )
        self.model_path = path
        self.interpreter, self.kernels = open_interpreter(path, num_threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = pick_output(path, self.interpreter.get_output_details())
        self.spec = resolve_spec(path, self._input, self._output, labels, mean, std, resize, crop)
        self.info = self.spec.pawlite
        self.input_size = (self.spec.input.height, self.spec.input.width)
        signature = self._input.get("shape_signature")
        self._dynamic_batch = signature is not None and len(signature) > 0 and signature[0] == -1
        self._batch = int(self._input["shape"][0])
        self.class_names = self.spec.class_names
        self.resize = self.spec.input.resize
        self.crop = self.spec.input.crop
        self.output_kind = self.spec.output_kind
        self.exif_rotate = exif_rotate

    def load(self, path: str | os.PathLike, profile: StageProfile | None = None) -> np.ndarray:
        """One file as model input, with this model's size and resize method."""
        return load_image(path, self.input_size, self.resize, self.exif_rotate, crop=self.crop,
                          profile=profile)

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
            shape = ([n, *self.input_size, 3] if self.spec.input.layout == "NHWC"
                     else [n, 3, *self.input_size])
            with runtime_log():
                self.interpreter.resize_tensor_input(self._input["index"], shape)
                self.interpreter.allocate_tensors()
            self._batch = n
        if n < self._batch:
            pad = np.zeros((self._batch - n, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, pad])
        spec = self.spec.input
        tensor = prepare_input(batch, self._input["dtype"], spec.mean, spec.std)
        if spec.layout == "NCHW":
            tensor = np.ascontiguousarray(tensor.transpose(0, 3, 1, 2))
        self.interpreter.set_tensor(self._input["index"], tensor)
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self._output["index"])[:n].reshape(n, -1)
        scores = dequantize(raw, *self._output["quantization"])
        if self.output_kind in ("sigmoid", "logit"):
            return two_classes(scores[:, :1], logit=self.output_kind == "logit")
        return softmax(scores) if self.output_kind == "logits" else scores

    def classify_paths(
        self,
        paths: Iterable[str | os.PathLike],
        top_k: int = 1,
        threshold: float | None = None,
        batch_size: int = 8,
        workers: int | None = None,
        profile: StageProfile | None = None,
    ) -> Iterator[Result]:
        """Classify files lazily, in input order; a file that fails is a Result with an error.

        Decoding runs in `workers` threads (default: one per CPU core; they only run ahead by
        a bounded window, so they yield the CPU when inference is the bottleneck) while this
        thread invokes the interpreter, which releases the GIL. `profile` times each stage.
        """
        workers = workers or threads_in_all()
        load = partial(self.load, profile=profile) if profile else self.load
        since_trim = 0
        for batch in ordered_batches(paths, load, max(1, batch_size), workers):
            since_trim += len(batch)
            if since_trim >= TRIM_EVERY:
                release_free_memory()
                since_trim = 0
            good = [(p, x) for p, x in batch if isinstance(x, np.ndarray)]
            with profile.stage("interpreter") if profile else nullcontext():
                probabilities = iter(self.predict(np.stack([x for _, x in good])) if good else [])
            for path, value in batch:
                with profile.stage("output") if profile else nullcontext():
                    if isinstance(value, np.ndarray):
                        result = self._result(str(path), next(probabilities), top_k, threshold)
                    else:
                        result = _error_result(str(path), value)
                yield result

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


def open_classifier(options: ModelOptions, exif_rotate: bool = True) -> Classifier:
    """The one place a Classifier is built from model options (a run, --eval, --info, the
    serverless handler): the interpreter gets its share of the options' threads."""
    return Classifier(options.model, options.labels, interpreter_threads(options.threads),
                      resize=options.resize, exif_rotate=exif_rotate, mean=options.mean,
                      std=options.std, crop=options.crop)
