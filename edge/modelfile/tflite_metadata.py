"""What a .tflite file says about itself: its TFLite Metadata and the op that makes its output.

Third-party classifiers (TFLite Support, Model Maker, Coral, MediaPipe) describe their input
normalization and label file in the standard `ModelMetadata` flatbuffer ("M001", in the model
buffer named by the "TFLITE_METADATA" entry); MediaPipe Tasks and the TFLite Task Library read
it, so edge must too. Field slots follow the public `schema.fbs` and `metadata_schema.fbs`.
The file is memory-mapped: only the few pages holding these tables are read.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

from edge.modelfile.flatbuf import FlatbufferError, Table

METADATA_NAME = "TFLITE_METADATA"
MODEL_IDENTIFIER = b"TFL3"
METADATA_IDENTIFIER = b"M001"
FILE_TENSOR_AXIS_LABELS = 2
CONTENT_IMAGE = 2
UNIT_NORMALIZATION = 1
COLOR_SPACES = {0: "unknown", 1: "RGB", 2: "GRAYSCALE"}

# Builtin operator codes (schema.fbs BuiltinOperator) that edge needs to name.
OP_NAMES = {14: "LOGISTIC", 25: "SOFTMAX", 6: "DEQUANTIZE", 114: "QUANTIZE", 22: "RESHAPE",
            43: "SQUEEZE", 53: "CAST", 119: "LOG_SOFTMAX"}
# Ops that only re-lay or re-encode values: the output's meaning is the meaning of their input.
_PASS_THROUGH = {"DEQUANTIZE", "QUANTIZE", "RESHAPE", "SQUEEZE", "CAST"}


@dataclass(frozen=True)
class Normalization:
    """NormalizationOptions: the model expects `(pixel - mean) / std`, per channel if three."""

    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class LabelFile:
    name: str
    locale: str | None = None


@dataclass(frozen=True)
class TfliteMetadata:
    """The facts edge uses; every field is None/empty when the model does not state it."""

    has_metadata: bool = False
    name: str | None = None
    normalization: Normalization | None = None
    color_space: str | None = None
    label_files: tuple[LabelFile, ...] = ()
    output_op: str | None = None
    problem: str | None = None
    output_ops: tuple[tuple[int, str | None], ...] = ()


def read_tflite_metadata(path: str | os.PathLike) -> TfliteMetadata:
    """Parse `path`; a damaged flatbuffer gives `problem` set rather than an exception, since
    the interpreter is the judge of whether the model itself loads."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _read(buf)
    except (FlatbufferError, ValueError, OSError) as e:
        return TfliteMetadata(problem=f"cannot read the model's flatbuffer tables ({e})")


def _read(buf) -> TfliteMetadata:
    model = Table.root(buf, MODEL_IDENTIFIER)
    output_ops = _output_ops(model)
    output_op = output_ops[0][1] if output_ops else None
    entries = {m.string(0): m.scalar(1, "I") for m in model.tables(6)}
    if METADATA_NAME not in entries:
        return TfliteMetadata(output_op=output_op, output_ops=output_ops)
    buffers = model.tables(4)
    index = entries[METADATA_NAME]
    if index >= len(buffers):
        raise FlatbufferError(f"{METADATA_NAME} names buffer {index} of {len(buffers)}")
    data = _buffer_bytes(buf, buffers[index])
    root = Table.root(data, METADATA_IDENTIFIER)
    subgraphs = root.tables(3)
    inputs = subgraphs[0].tables(2) if subgraphs else []
    outputs = subgraphs[0].tables(3) if subgraphs else []
    normalization = color = None
    if inputs:
        normalization = _normalization(inputs[0])
        color = _color_space(inputs[0])
    labels = _label_files(outputs[0]) if outputs else ()
    return TfliteMetadata(
        has_metadata=True, name=root.string(0), normalization=normalization,
        color_space=color, label_files=labels, output_op=output_op, output_ops=output_ops,
    )


def _buffer_bytes(buf, buffer: Table) -> bytes:
    data = buffer.bytes(0)
    if data:
        return data
    # Models over 2 GB keep buffers after the flatbuffer: offset and size from the file start.
    offset, size = buffer.scalar(1, "Q"), buffer.scalar(2, "Q")
    if offset > 1 and offset + size <= len(buf):
        return bytes(buf[offset:offset + size])
    raise FlatbufferError(f"the {METADATA_NAME} buffer is empty")


def _normalization(tensor: Table) -> Normalization | None:
    for unit in tensor.tables(4):
        if unit.scalar(0, "B") != UNIT_NORMALIZATION:
            continue
        options = unit.table(1)
        if options is None:
            continue
        mean = tuple(float(v) for v in options.numbers(0, "<f4"))
        std = tuple(float(v) for v in options.numbers(1, "<f4"))
        if mean or std:
            return Normalization(mean or (0.0,), std or (1.0,))
    return None


def _color_space(tensor: Table) -> str | None:
    content = tensor.table(3)
    if content is None or content.scalar(0, "B") != CONTENT_IMAGE:
        return None
    image = content.table(1)
    return COLOR_SPACES.get(image.scalar(0, "b"), "unknown") if image else None


def _label_files(tensor: Table) -> tuple[LabelFile, ...]:
    return tuple(
        LabelFile(f.string(0), f.string(3) or None)
        for f in tensor.tables(6)
        if f.scalar(2, "b") == FILE_TENSOR_AXIS_LABELS and f.string(0)
    )


def _output_ops(model: Table) -> tuple[tuple[int, str | None], ...]:
    """(output tensor index, the op whose result it means) for each output of the graph:
    SOFTMAX for most classifiers, None for logits."""
    subgraphs = model.tables(2)
    if not subgraphs:
        return ()
    graph = subgraphs[0]
    codes = [max(c.scalar(0, "b"), c.scalar(3, "i")) for c in model.tables(1)]
    producer = {}
    for op in graph.tables(3):
        for tensor in op.numbers(2, "<i4"):
            producer[int(tensor)] = op
    return tuple((int(t), _producing_op(int(t), producer, codes))
                 for t in graph.numbers(2, "<i4"))


def _producing_op(tensor: int, producer: dict, codes: list[int]) -> str | None:
    for _ in range(len(producer) + 1):
        op = producer.get(tensor)
        if op is None:
            return None
        index = op.scalar(0, "I")
        code = codes[index] if index < len(codes) else -1
        name = OP_NAMES.get(code, f"op {code}")
        if name not in _PASS_THROUGH:
            return name
        inputs = op.numbers(1, "<i4")
        if not len(inputs):
            return name
        tensor = int(inputs[0])
    return None
