"""Writing labels and preprocessing into a .tflite file, in the standard TFLite Metadata layout.

MediaPipe Tasks and TFLite Support find a `ModelMetadata` flatbuffer (file identifier "M001") in
a model buffer named by the model's "TFLITE_METADATA" entry, and the files it declares in a zip
appended after the flatbuffer. TFLite Support is unmaintained, so the few tables needed are
written here with the `flatbuffers` package (field slots follow the public metadata_schema.fbs),
and the model is re-packed with the TFLite schema the runtime ships (`edge.runtime`): export
writes its models with it, and `python -m edge.describe` a foreign model, without TensorFlow.
`pawlite.json` in the same zip is what `edge` reads with `zipfile` alone.
"""

from __future__ import annotations

import io
import zipfile

import flatbuffers
import numpy as np

from edge.errors import EdgeError

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
    the model, pawlite.json beside the labels); `edge.describe` passes a foreign model's.
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
    from edge.runtime import flatbuffer_schema

    schema = flatbuffer_schema()
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    if any(buf.offset > 1 for buf in tree.buffers or []):
        raise EdgeError("The model stores its weights outside the flatbuffer; "
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
