"""pawlite's own model files: `pawlite.json` and the labels beside the standard TFLite
Metadata, which `edge.modelfile.metadata_writer` writes (export and `python -m edge.describe`
share it), and a reader of that metadata for the tests.

`pawlite.json` in the zip after the flatbuffer is what `edge` reads with `zipfile` alone.
"""

from __future__ import annotations

import json

import flatbuffers
from flatbuffers import number_types as N
from flatbuffers.table import Table

from edge.modelfile.metadata_writer import (  # noqa: F401  (export's writers use them through here)
    COLOR_RGB,
    CONTENT_FEATURE,
    CONTENT_IMAGE,
    FILE_TENSOR_AXIS_LABELS,
    FILE_UNKNOWN,
    LABELS_FILE,
    METADATA_IDENTIFIER,
    METADATA_NAME,
    MIN_PARSER_VERSION,
    MODEL_IDENTIFIER,
    PAWLITE_FILE,
    UNIT_NORMALIZATION,
    build_model_metadata,
    populate,
)
from export.errors import ExportError


def pawlite_spec(
    class_names, image_size, resize: str, quantization: str, source: dict, version: str
) -> dict:
    """The `pawlite.json` document of DEVELOPERS.md ("The .tflite model format")."""
    height, width = image_size
    return {
        "format": "pawlite-model/1",
        "class_names": list(class_names),
        "input": {"height": height, "width": width, "channels": 3, "dtype": "uint8",
                  "range": [0, 255], "color": "RGB", "resize": resize},
        "output": "probabilities",
        "quantization": quantization,
        "source": source,
        "pawlite_version": version,
    }


def associated_files(class_names, spec: dict) -> dict[str, bytes]:
    return {
        LABELS_FILE: ("\n".join(class_names) + "\n").encode(),
        PAWLITE_FILE: (json.dumps(spec, indent=1) + "\n").encode(),
    }


class _Reader:
    """Just enough of a flatbuffers table reader to check what was written, TensorFlow-free."""

    def __init__(self, buf, pos: int):
        self.tab = Table(buf, pos)

    def _off(self, slot: int) -> int:
        return self.tab.Offset(4 + 2 * slot)

    def string(self, slot: int) -> str | None:
        o = self._off(slot)
        return self.tab.String(o + self.tab.Pos).decode() if o else None

    def scalar(self, slot: int, flags=N.Int8Flags, default=0):
        o = self._off(slot)
        return self.tab.Get(flags, o + self.tab.Pos) if o else default

    def table(self, slot: int) -> _Reader | None:
        o = self._off(slot)
        return _Reader(self.tab.Bytes, self.tab.Indirect(o + self.tab.Pos)) if o else None

    def tables(self, slot: int) -> list[_Reader]:
        o = self._off(slot)
        if not o:
            return []
        start = self.tab.Vector(o)
        return [_Reader(self.tab.Bytes, self.tab.Indirect(start + 4 * i))
                for i in range(self.tab.VectorLen(o))]

    def bytes_vector(self, slot: int) -> bytes:
        o = self._off(slot)
        return bytes(self.tab.GetVectorAsNumpy(N.Uint8Flags, o)) if o else b""

    def floats(self, slot: int) -> list[float]:
        o = self._off(slot)
        return [float(x) for x in self.tab.GetVectorAsNumpy(N.Float32Flags, o)] if o else []


def _root(buf: bytes, identifier: bytes, what: str) -> _Reader:
    if len(buf) < 8 or buf[4:8] != identifier:
        raise ExportError(f"{what} does not carry the flatbuffer identifier {identifier!r}.")
    return _Reader(buf, flatbuffers.encode.Get(N.UOffsetTFlags.packer_type, buf, 0))


def _files(tables: list[_Reader]) -> list[dict]:
    return [{"name": f.string(0), "type": f.scalar(2)} for f in tables]


def _tensor(t: _Reader) -> dict:
    content = t.table(3)
    props = content.table(1) if content else None
    info = {"name": t.string(0), "content_type": content.scalar(0, N.Uint8Flags) if content else 0,
            "associated_files": _files(t.tables(6))}
    if info["content_type"] == CONTENT_IMAGE and props is not None:
        size = props.table(1)
        info["color_space"] = props.scalar(0)
        info["size"] = [size.scalar(1, N.Uint32Flags), size.scalar(0, N.Uint32Flags)]
    units = [u.table(1) for u in t.tables(4) if u.scalar(0, N.Uint8Flags) == UNIT_NORMALIZATION]
    if units:
        info["normalization"] = {"mean": units[0].floats(0), "std": units[0].floats(1)}
    return info


def read_model_metadata(model: bytes) -> dict:
    """Parse a .tflite file's TFLITE_METADATA back into a dict, TensorFlow-free: how the tests
    check what `populate` wrote (the export path itself never reads it back)."""
    root = _root(model, MODEL_IDENTIFIER, "The model")
    buffers = root.tables(4)
    entries = {m.string(0): m.scalar(1, N.Uint32Flags) for m in root.tables(6)}
    if METADATA_NAME not in entries:
        raise ExportError(f"The model has no {METADATA_NAME} entry.")
    meta = _root(buffers[entries[METADATA_NAME]].bytes_vector(0), METADATA_IDENTIFIER,
                 "The TFLITE_METADATA buffer")
    subgraphs = meta.tables(3)
    return {
        "name": meta.string(0),
        "version": meta.string(2),
        "min_parser_version": meta.string(7),
        "associated_files": _files(meta.tables(6)),
        "inputs": [_tensor(t) for t in subgraphs[0].tables(2)] if subgraphs else [],
        "outputs": [_tensor(t) for t in subgraphs[0].tables(3)] if subgraphs else [],
    }
