"""How to feed a model and read its answer, decided once per model, with where each rule came from.

A TFLite classifier does not always say what it expects, and different exporters say it in
different places. The rules, in order of precedence (docs/own-model.md):

- input values: quantized uint8 input gets the pixel values, int8 the pixel values minus 128
  (what MediaPipe Tasks, the TFLite Task Library and pycoral feed: the normalization was folded
  into the input quantization at conversion). Float input gets `(pixel - mean) / std` from
  `--mean/--std`, else pawlite.json (raw pixels), else the TFLite Metadata NormalizationOptions;
  a float model that states none of these is refused, never guessed.
- labels: `--labels`, else pawlite.json, else the output tensor's TENSOR_AXIS_LABELS file,
  else a `labels.txt` member; their count must equal the number of outputs.
- output: probabilities when pawlite.json says so or the graph ends in SOFTMAX/LOGISTIC;
  anything else is treated as logits and softmax-ed, so `confidence` is always a probability.
- pixels: the resize recorded in pawlite.json, else bilinear without half-pixel shift or
  antialiasing (what MediaPipe's CPU preprocessing does; measured against MediaPipe Tasks,
  it is the one that gives the same probabilities); `--crop center` crops to the input's
  aspect ratio first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.errors import ModelLoadError, UsageError
from edge.modelfile.modelinfo import ModelInfo, parse_labels, read_member, read_model_info
from edge.modelfile.tflite_metadata import TfliteMetadata, read_tflite_metadata
from edge.options import RESIZE_METHODS, check_pixels, parse_numbers
from edge.pixels.decode import FOREIGN_RESIZE

PROBABILITY_OPS = ("SOFTMAX", "LOGISTIC")
NORMALIZATION_HINT = (
    "Pass --mean and --std (input = (pixel - mean) / std, one value or one per channel): "
    "--mean 127.5 --std 127.5 for inputs in [-1, 1] (Teachable Machine's model_unquant.tflite, "
    "MobileNet, EfficientNet-Lite), --mean 0 --std 255 for [0, 1], --mean 0 --std 1 for raw "
    "0..255 pixels. `python -m edge.describe MODEL --mean M --std S -o OUT` writes them "
    "into the model once."
)


@dataclass(frozen=True)
class InputSpec:
    """The input tensor and how uint8 pixels become its values."""

    height: int
    width: int
    dtype: str
    scale: float
    zero_point: int
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    normalization_source: str
    resize: str
    resize_source: str
    crop: str
    layout: str = "NHWC"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the Classifier needs to run `path` as its own runtime would."""

    path: str
    input: InputSpec
    class_names: tuple[str, ...]
    labels_source: str
    output_dtype: str
    output_scale: float
    output_zero_point: int
    output_kind: str
    output_source: str
    pawlite: ModelInfo | None
    metadata: TfliteMetadata

    def setup(self) -> str:
        """What decides the answers besides the model file, compactly: a resumed run must
        not mix rows made with other labels, normalization, resize or crop."""
        import hashlib

        i = self.input
        names = hashlib.sha256("\n".join(self.class_names).encode()).hexdigest()[:12]
        values = "raw" if i.mean is None else f"{_nums(i.mean)}/{_nums(i.std)}"
        return f"labels {names}, values {values}, resize {i.resize}, crop {i.crop}"

    def describe(self) -> list[tuple[str, str]]:
        """(field, value) pairs for `edge-classify --info`."""
        i = self.input
        quant = (f"scale {i.scale:g}, zero point {i.zero_point}"
                 if i.dtype in ("uint8", "int8") else "none (float)")
        if i.mean is None:
            values = ("pixel values 0..255" if i.dtype == "uint8"
                      else "pixel values minus 128 (-128..127)")
        else:
            low, high = _range(i.mean, i.std)
            values = f"(pixel - {_nums(i.mean)}) / {_nums(i.std)}  -> [{low:g}, {high:g}]"
        names = ", ".join(self.class_names[:5]) + (", ..." if len(self.class_names) > 5 else "")
        out_quant = (f", scale {self.output_scale:g}, zero point {self.output_zero_point}"
                     if self.output_dtype != "float32" else "")
        meta = self.metadata
        return [
            ("model", self.path),
            ("written by", "pawlite export" if self.pawlite else
             ("a tool writing TFLite Metadata" + (f" ({meta.name})" if meta.name else ""))
             if meta.has_metadata else "unknown (no metadata)"),
            ("input", (f"1x{i.height}x{i.width}x3" if i.layout == "NHWC" else
                       f"1x3x{i.height}x{i.width} (channels first)")
             + f" {i.dtype}, quantization {quant}"),
            ("input values", f"{values}  [{i.normalization_source}]"),
            ("pixels", f"resize {i.resize} [{i.resize_source}], crop {i.crop}"),
            ("labels", f"{len(self.class_names)} from {self.labels_source}: {names}"),
            ("output", f"{self.output_dtype}{out_quant}; {self.output_kind} "
                       f"[{self.output_source}]"),
            ("confidence", {
                "probabilities": "the output probability",
                "logits": "softmax of the output (logits), so a probability",
                "sigmoid": f"one probability p of {self.class_names[-1]}: "
                           f"{self.class_names[0]} 1-p, {self.class_names[-1]} p",
                "logit": f"one logit x: p = sigmoid(x) for {self.class_names[-1]}, "
                         f"1-p for {self.class_names[0]}",
            }[self.output_kind]),
        ] + ([("warning", meta.problem)] if meta.problem else [])


def resolve_spec(
    path: str | os.PathLike,
    input_detail: dict,
    output_detail: dict,
    labels: str | os.PathLike | Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    resize: str | None = None,
    crop: str | None = None,
) -> ModelSpec:
    """Decide every rule of the module docstring for one model, or raise ModelLoadError."""
    info = read_model_info(path)
    meta = read_tflite_metadata(path)
    shape = tuple(int(d) for d in input_detail["shape"])
    if len(shape) == 4 and shape[3] == 3:
        layout, height, width = "NHWC", shape[1], shape[2]
    elif len(shape) == 4 and shape[1] == 3:  # channels first, as PyTorch exporters write
        layout, height, width = "NCHW", shape[2], shape[3]
    else:
        raise ModelLoadError(
            f"{path}: expected an RGB image input of shape (1, height, width, 3) or "
            f"(1, 3, height, width), got {shape}."
        )
    dtype = np.dtype(input_detail["dtype"]).name
    scale, zero_point = input_detail.get("quantization", (0.0, 0))
    classes = int(np.prod(output_detail["shape"][1:])) if len(output_detail["shape"]) > 1 else 1
    op = dict(meta.output_ops).get(int(output_detail.get("index", -1)), meta.output_op)
    # Both problems at once: a user should not fix the labels only to learn about the input.
    problems = []
    try:
        mean_v, std_v, norm_source = _normalization(path, dtype, info, meta, mean, std)
    except ModelLoadError as e:
        problems.append(str(e))
    try:
        names, labels_source = _labels(path, labels, info, meta, classes)
    except ModelLoadError as e:
        problems.append(str(e))
    if problems:
        raise ModelLoadError("\n".join(problems))
    if resize is not None:
        resize_source = "--resize option"
    elif info is not None:
        resize, resize_source = info.resize, "pawlite.json"
    else:
        resize, resize_source = FOREIGN_RESIZE, "as MediaPipe Tasks resizes on the CPU"
    crop = crop or "none"
    if info is not None and resize not in RESIZE_METHODS:
        raise ModelLoadError(f"{path}: its pawlite.json names the resize method {resize!r}, "
                             f"which this edge does not know ({', '.join(RESIZE_METHODS)}): "
                             "update pawlite, or pass --resize.")
    check_pixels(crop, resize, None)
    kind, kind_source = _output_kind(info, meta, op)
    if classes == 1:
        kind = "sigmoid" if kind == "probabilities" else "logit"
    out_scale, out_zero = output_detail.get("quantization", (0.0, 0))
    return ModelSpec(
        path=str(path),
        input=InputSpec(height, width, dtype, float(scale), int(zero_point), mean_v, std_v,
                        norm_source, resize, resize_source, crop, layout),
        class_names=names,
        labels_source=labels_source,
        output_dtype=np.dtype(output_detail["dtype"]).name,
        output_scale=float(out_scale),
        output_zero_point=int(out_zero),
        output_kind=kind,
        output_source=kind_source,
        pawlite=info,
        metadata=meta,
    )


def pick_output(path: str | os.PathLike, outputs: list[dict]) -> dict:
    """The output tensor that holds the class scores, or ModelLoadError saying why this model
    is not an image classifier edge can read.

    A classifier answers with one vector of scores. A model with several outputs is read only
    when exactly one of them is such a vector ending in SOFTMAX or LOGISTIC (e.g.
    probabilities beside an embedding); an output with more than one non-trivial dimension
    (boxes, masks, keypoints) means an object detector or segmenter.
    """
    shown = ", ".join(f"{o.get('name') or o['index']} {list(map(int, o['shape']))}"
                      for o in outputs)
    not_classifier = (f"{path} is not an image classifier (outputs: {shown}): edge reads "
                      "models that answer with one vector of class scores, e.g. not object "
                      "detectors or segmenters.")
    if any(sum(1 for d in o["shape"][1:] if int(d) > 1) > 1 for o in outputs):
        raise ModelLoadError(not_classifier)
    if len(outputs) == 1:
        return outputs[0]
    ops = dict(read_tflite_metadata(path).output_ops)
    scores = [o for o in outputs if ops.get(int(o["index"])) in PROBABILITY_OPS]
    if len(scores) != 1:
        raise ModelLoadError(
            f"{not_classifier[:-1]}; or, with several outputs, exactly one ending in SOFTMAX "
            "or LOGISTIC to read the class scores from.")
    return scores[0]


def _normalization(path, dtype, info, meta, mean, std):
    mean, std = parse_numbers(mean, "--mean"), parse_numbers(std, "--std")
    if (mean is None) != (std is None):
        raise UsageError("--mean and --std go together: pass both (e.g. --mean 127.5 --std 127.5).")
    check_pixels(None, None, std)
    if dtype in ("uint8", "int8"):
        if mean is not None:
            raise UsageError(
                f"--mean/--std apply to float models only: {path} takes {dtype} pixels, "
                "its normalization is folded into the input quantization. Drop the options."
            )
        rule = "pixel values" if dtype == "uint8" else "pixel values minus 128"
        return None, None, f"quantized {dtype} input: {rule}, as MediaPipe and pycoral feed it"
    if dtype not in ("float32", "float16"):
        raise ModelLoadError(
            f"{path}: input type {dtype} is not supported; edge feeds uint8, int8 or float."
        )
    if mean is not None:
        return mean, std, "--mean/--std options"
    if info is not None:
        low, high = (info.raw.get("input") or {}).get("range", [0, 255])
        return (float(low),), (float(high - low) / 255.0,), "pawlite.json input range"
    if meta.normalization is not None:
        n = meta.normalization
        if (len(n.mean) not in (1, 3) or len(n.std) not in (1, 3)
                or not all(s > 0 for s in n.std)):
            raise ModelLoadError(f"{path}: its NormalizationOptions are unusable "
                                 f"(mean {n.mean}, std {n.std}). {NORMALIZATION_HINT}")
        return n.mean, n.std, "TFLite Metadata NormalizationOptions"
    raise ModelLoadError(
        f"{path}: float32 input without NormalizationOptions in its metadata, so it does not "
        f"say which pixel values it expects and edge will not guess. {NORMALIZATION_HINT}"
    )


def _labels(path, labels, info, meta, classes):
    if isinstance(labels, (str, os.PathLike)):
        try:
            text = open(labels, encoding="utf-8-sig").read()
        except (OSError, UnicodeDecodeError) as e:
            raise ModelLoadError(f"{labels}: cannot read the labels file ({e}).") from None
        names, source = parse_labels(text), f"--labels {labels}"
    elif labels is not None:
        names, source = tuple(str(n) for n in labels), "the labels passed in"
    elif info is not None:
        names, source = info.class_names, "pawlite.json"
    else:
        names = source = None
        for label_file in meta.label_files:
            text = read_member(path, label_file.name)
            if text is not None:
                names = parse_labels(text)
                source = f"{label_file.name} (TENSOR_AXIS_LABELS in the TFLite Metadata)"
                break
        if names is None:
            text = read_member(path, "labels.txt")
            if text is not None:
                names, source = parse_labels(text), "labels.txt inside the model"
    if not names:
        raise ModelLoadError(
            f"{path} carries no class names (no pawlite metadata and no label file): "
            "pass --labels FILE with one class name per line."
        )
    empty = [i + 1 for i, name in enumerate(names) if not name]
    if empty:
        raise ModelLoadError(
            f"{source}: line {empty[0]} is empty, and an empty class name would be an answer "
            "nobody can read: give every class a name, one per line, in output order.")
    if classes == 1 and len(names) != 2:
        raise ModelLoadError(
            f"{path} has a single output (one score, as Keras Dense(1, sigmoid) writes), "
            f"which needs two class names, not {len(names)} from {source}: the first for a "
            "low score, the second for a high one (e.g. 'cats' then 'dogs' for a model whose "
            "output is the probability of dogs).")
    if len(names) != classes and classes != 1:
        raise ModelLoadError(
            f"{len(names)} class names from {source} for a model with {classes} outputs; "
            "pass a --labels file with one name per output, in output order."
        )
    return names, source


def _output_kind(info, meta, op):
    if info is not None:
        return info.output, "pawlite.json"
    if op in PROBABILITY_OPS:
        return "probabilities", f"the graph ends in {op}"
    if op is None and meta.problem:
        return "probabilities", "assumed: the graph could not be read"
    return "logits", f"the graph ends in {op or 'no op'}, not SOFTMAX or LOGISTIC"


def _nums(values: tuple[float, ...]) -> str:
    text = ", ".join(f"{v:g}" for v in values)
    return text if len(values) == 1 else f"[{text}]"


def _range(mean, std) -> tuple[float, float]:
    means, stds = np.broadcast_to(mean, 3), np.broadcast_to(std, 3)
    ends = np.concatenate([(0 - means) / stds, (255 - means) / stds])
    return float(ends.min()), float(ends.max())
