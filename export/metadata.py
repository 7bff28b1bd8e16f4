"""Labels and preprocessing inside the .tflite file, in the standard TFLite Metadata layout.

MediaPipe Tasks and TFLite Support find a `ModelMetadata` flatbuffer (file identifier "M001") in
a model buffer named by the model's "TFLITE_METADATA" entry, and the files it declares in a zip
appended after the flatbuffer. TFLite Support is unmaintained, so the few tables we need are
written here with the `flatbuffers` package (field slots follow the public metadata_schema.fbs).
`pawlite.json` in the same zip is what `edge` reads with `zipfile` alone.
"""

from __future__ import annotations

import io
import json
import zipfile

import flatbuffers
import numpy as np
from flatbuffers import number_types as N
from flatbuffers.table import Table

from export.errors import ExportError

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MODEL_IDENTIFIER = b"TFL3"
LABELS_FILE = "labels.txt"
PAWLITE_FILE = "pawlite.json"
MIN_PARSER_VERSION = "1.0.0"

FILE_UNKNOWN, FILE_TENSOR_AXIS_LABELS = 0, 2
COLOR_RGB = 1
CONTENT_FEATURE, CONTENT_IMAGE = 1, 2
UNIT_NORMALIZATION = 1


def _vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _table(b: flatbuffers.Builder, n_slots: int, fields: dict[int, tuple[str, object]]) -> int:
    """One table; `fields` maps slot -> ("offset" | "int8" | "uint8" | "uint32", value)."""
    b.StartObject(n_slots)
    for slot, (kind, value) in sorted(fields.items()):
        if kind == "offset":
            b.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "int8":
            b.PrependInt8Slot(slot, value, 0)
        elif kind == "uint8":
            b.PrependUint8Slot(slot, value, 0)
        else:
            b.PrependUint32Slot(slot, value, 0)
    return b.EndObject()


def _floats(b: flatbuffers.Builder, values: list[float]) -> int:
    return b.CreateNumpyVector(np.asarray(values, np.float32))


def _associated_file(b, name: str, description: str, file_type: int) -> int:
    fields = {0: ("offset", b.CreateString(name)), 1: ("offset", b.CreateString(description))}
    fields[2] = ("int8", file_type)
    return _table(b, 4, fields)


def _input_tensor(b, height: int, width: int, mean, std, description: str) -> int:
    size = _table(b, 2, {0: ("uint32", width), 1: ("uint32", height)})
    image = _table(b, 2, {0: ("int8", COLOR_RGB), 1: ("offset", size)})
    content = _table(b, 3, {0: ("uint8", CONTENT_IMAGE), 1: ("offset", image)})
    norm = _table(b, 2, {0: ("offset", _floats(b, list(mean))),
                         1: ("offset", _floats(b, list(std)))})
    unit = _table(b, 2, {0: ("uint8", UNIT_NORMALIZATION), 1: ("offset", norm)})
    ends = [(edge - m) / s for edge in (0.0, 255.0)
            for m, s in zip(np.broadcast_to(mean, 3), np.broadcast_to(std, 3), strict=True)]
    stats = _table(b, 2, {0: ("offset", _floats(b, [max(ends)])),
                          1: ("offset", _floats(b, [min(ends)]))})
    name = b.CreateString("image")
    desc = b.CreateString(description)
    fields = {0: ("offset", name), 1: ("offset", desc), 3: ("offset", content)}
    fields.update({4: ("offset", _vector(b, [unit])), 5: ("offset", stats)})
    return _table(b, 7, fields)


def _output_tensor(b, labels_file: str, probabilities: bool) -> int:
    labels = _associated_file(b, labels_file, "Class names, one per line.",
                              FILE_TENSOR_AXIS_LABELS)
    feature = _table(b, 0, {})
    content = _table(b, 3, {0: ("uint8", CONTENT_FEATURE), 1: ("offset", feature)})
    fields = {3: ("offset", content), 6: ("offset", _vector(b, [labels]))}
    if probabilities:
        stats = _table(b, 2, {0: ("offset", _floats(b, [1.0])), 1: ("offset", _floats(b, [0.0]))})
        fields[5] = ("offset", stats)
        name = b.CreateString("probability")
        desc = b.CreateString(f"Class probabilities (softmax over the classes in {labels_file}).")
    else:
        name = b.CreateString("logits")
        desc = b.CreateString(f"Class scores (logits) for the classes in {labels_file}.")
    fields.update({0: ("offset", name), 1: ("offset", desc)})
    return _table(b, 7, fields)


def build_model_metadata(
    name: str,
    description: str,
    version: str,
    image_size,
    mean=(0.0,),
    std=(1.0,),
    labels_file: str = LABELS_FILE,
    probabilities: bool = True,
    pawlite_file: bool = True,
    author: str = "pawlite",
) -> bytes:
    """The `ModelMetadata` flatbuffer of an RGB image classifier.

    The defaults describe pawlite's own models (uint8 raw-pixel input, normalization inside
    the model, pawlite.json beside the labels); `export describe` passes a foreign model's.
    """
    height, width = image_size
    b = flatbuffers.Builder(1024)
    if tuple(mean) == (0.0,) and tuple(std) == (1.0,):
        input_text = (f"RGB image, {height}x{width}, raw pixels 0..255 "
                      "(the model normalizes internally).")
    else:
        input_text = (f"RGB image, {height}x{width}, input = (pixel - mean) / std with "
                      f"mean {list(mean)}, std {list(std)}.")
    inp = _input_tensor(b, height, width, mean, std, input_text)
    out = _output_tensor(b, labels_file, probabilities)
    subgraph = _table(
        b, 7, {2: ("offset", _vector(b, [inp])), 3: ("offset", _vector(b, [out]))}
    )
    fields = {
        0: ("offset", b.CreateString(name)),
        1: ("offset", b.CreateString(description)),
        2: ("offset", b.CreateString(version)),
        3: ("offset", _vector(b, [subgraph])),
        4: ("offset", b.CreateString(author)),
        7: ("offset", b.CreateString(MIN_PARSER_VERSION)),
    }
    if pawlite_file:
        spec = _associated_file(b, PAWLITE_FILE, "pawlite runner spec (JSON).", FILE_UNKNOWN)
        fields[6] = ("offset", _vector(b, [spec]))
    b.Finish(_table(b, 8, fields), file_identifier=METADATA_IDENTIFIER)
    return bytes(b.Output())


def populate(model: bytes, metadata: bytes, files: dict[str, bytes]) -> bytes:
    """`model` with `metadata` in a new buffer named TFLITE_METADATA and `files` zipped after it."""
    from tensorflow.lite.python import schema_py_generated as schema

    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    if any(buf.offset > 1 for buf in tree.buffers or []):
        raise ExportError("The converted model stores its weights outside the flatbuffer; "
                          "metadata cannot be embedded (model larger than 2 GB?).")
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata, np.uint8)
    tree.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(tree.buffers) - 1
    tree.metadata = [m for m in tree.metadata or [] if m.name != METADATA_NAME.encode()]
    tree.metadata.append(entry)
    b = flatbuffers.Builder(len(model) + len(metadata) + 4096)
    b.Finish(tree.Pack(b), file_identifier=MODEL_IDENTIFIER)
    out = io.BytesIO(bytes(b.Output()))
    # Appending mode on a non-zip stream adds the archive after the flatbuffer; entries are
    # stored uncompressed because MediaPipe's reader expects them so.
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


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
