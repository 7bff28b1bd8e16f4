"""Shared helpers for the edge tests: tiny TFLite classifiers and generated images.

The models are built once per test process (cached in a temp folder) with TensorFlow, which
tests may import; edge itself never does. The model's "colour rule" is easy to check: class 0
("cats") wins for red-dominant images, class 1 ("dogs") for blue-dominant ones.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASS_NAMES = ("cats", "dogs")
_CACHE = None


def _cache_dir() -> Path:
    global _CACHE
    if _CACHE is None:
        _CACHE = Path(tempfile.mkdtemp(prefix="edge-test-models-"))
        atexit.register(shutil.rmtree, _CACHE, True)
    return _CACHE


def append_metadata(model: Path, metadata: dict | None, labels=CLASS_NAMES) -> None:
    """Append a zip with pawlite.json and labels.txt, as the export stage lays it out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if labels is not None:
            archive.writestr("labels.txt", "\n".join(labels) + "\n")
        if metadata is not None:
            archive.writestr("pawlite.json", json.dumps(metadata))
    with open(model, "ab") as f:
        f.write(buffer.getvalue())


def metadata(size: int, dtype: str = "uint8", output: str = "probabilities") -> dict:
    return {
        "format": "pawlite-model/1",
        "class_names": list(CLASS_NAMES),
        "input": {"height": size, "width": size, "channels": 3, "dtype": dtype,
                  "range": [0, 255], "color": "RGB", "resize": "tf-bilinear"},
        "output": output,
        "quantization": "int8" if dtype != "float32" else None,
        "source": {"split_seed": 1337},
        "pawlite_version": "0.1.0",
    }


@functools.cache
def build_model(kind: str = "int8", size: int = 16, output: str = "probabilities",
                with_metadata: bool = True) -> Path:
    """A tiny colour classifier as .tflite: kind "float32" or "int8" (uint8 in, uint8 out)."""
    tf = pytest.importorskip("tensorflow")
    keras = tf.keras
    inputs = keras.Input((size, size, 3), dtype="float32")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(2, activation="softmax" if output == "probabilities" else None)
    outputs = dense(x)
    model = keras.Model(inputs, outputs)
    dense.set_weights([np.array([[8.0, -8.0], [0.0, 0.0], [-8.0, 8.0]], np.float32),
                       np.zeros(2, np.float32)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind == "int8":
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(32):
                color = rng.uniform(0, 255, (1, 1, 1, 3))
                yield [np.broadcast_to(color, (1, size, size, 3)).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    path = _cache_dir() / f"{kind}-{size}-{output}-{with_metadata}.tflite"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        path.write_bytes(converter.convert())
    if with_metadata:
        append_metadata(path, metadata(size, "uint8" if kind == "int8" else "float32", output))
    return path


def solid(color, size=(40, 30)) -> Image.Image:
    """A solid RGB image of `size` (width, height)."""
    return Image.new("RGB", size, color)


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A small PNG whose header claims a huge size (a decompression-bomb stand-in)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def hostile_folder(root: Path) -> dict[str, str]:
    """A folder with good and hostile files; returns {file name: expected error kind or label}."""
    root.mkdir(parents=True, exist_ok=True)
    save(solid((250, 10, 10)), root / "red cat ü.jpg")
    save(solid((10, 10, 250)), root / "blue dog.png")
    good = root / "good.jpg"
    save(solid((240, 20, 20), (64, 48)), good, quality=95)
    data = good.read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("this is not a picture\n")
    bomb_png(root / "bomb.png")
    loop = root / "loop.jpg"
    loop.symlink_to(loop.name)
    (root / "notes.txt").write_text("skipped, not an error\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return {
        "red cat ü.jpg": "cats",
        "blue dog.png": "dogs",
        "good.jpg": "cats",
        "truncated.jpg": "truncated",
        "empty.jpg": "empty",
        "text.jpg": "not-an-image",
        "bomb.png": "too-large",
        "loop.jpg": "symlink-loop",
    }
