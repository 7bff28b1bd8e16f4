"""Shared helpers for the edge tests: tiny TFLite classifiers and generated images.

The models are committed fixtures (tests/fixtures/models/, made by tests/fixtures/make_models.py
with TensorFlow), copied to a temp folder once per test process, so edge's tests run on a
TensorFlow-free install. The model's "colour rule" is easy to check: class 0 ("cats") wins for
red-dominant images, class 1 ("dogs") for blue-dominant ones.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

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


def metadata(size: int, dtype: str = "uint8", output: str = "probabilities",
             class_names=CLASS_NAMES) -> dict:
    return {
        "format": "pawlite-model/1",
        "class_names": list(class_names),
        "input": {"height": size, "width": size, "channels": 3, "dtype": dtype,
                  "range": [0, 255], "color": "RGB", "resize": "tf-bilinear"},
        "output": output,
        "quantization": "int8" if dtype != "float32" else None,
        "source": {"split_seed": 1337},
        "pawlite_version": "0.1.0",
    }


MODELS = Path(__file__).resolve().parent / "fixtures" / "models"


@functools.cache
def build_model(kind: str = "int8", size: int = 16, output: str = "probabilities",
                with_metadata: bool = True, class_names: tuple[str, ...] = CLASS_NAMES) -> Path:
    """A tiny colour classifier as .tflite: kind "float32" or "int8" (uint8 in, uint8 out).

    A copy of a committed fixture (tests/fixtures/make_models.py makes them), so no test of
    edge needs TensorFlow; with pawlite.json and labels.txt appended unless `with_metadata`
    is False (a foreign model's layout). Three `class_names` pick the three-class fixture
    (red, green, blue dominant).
    """
    suffix = "" if len(class_names) == 2 else f"-{len(class_names)}class"
    fixture = MODELS / f"{kind}-{size}-{output}{suffix}.tflite"
    if not fixture.is_file():
        raise FileNotFoundError(f"{fixture} is not committed: add the variant to "
                                "tests/fixtures/make_models.py and run it.")
    names = "" if class_names == CLASS_NAMES else "-" + "-".join(class_names)
    path = _cache_dir() / f"{kind}-{size}-{output}-{with_metadata}{names}.tflite"
    shutil.copyfile(fixture, path)
    if with_metadata:
        dtype = "uint8" if kind == "int8" else "float32"
        append_metadata(path, metadata(size, dtype, output, class_names), class_names)
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
