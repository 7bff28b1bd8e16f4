"""Reads the metadata that export appends to the .tflite (a zip after the flatbuffer).

Only the standard library's `zipfile` is used: it finds a zip whose start is preceded by other
data (the flatbuffer), so no TFLite Support or flatbuffers package is needed on the device.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field

from edge.errors import ModelLoadError
from edge.pixels.decode import DEFAULT_RESIZE

FORMAT_PREFIX = "pawlite-model/"
OUTPUT_KINDS = ("probabilities", "logits")


@dataclass(frozen=True)
class ModelInfo:
    """What `pawlite.json` says about the model; `raw` is the whole parsed document."""

    class_names: tuple[str, ...]
    height: int
    width: int
    channels: int = 3
    dtype: str = "uint8"
    resize: str = DEFAULT_RESIZE
    output: str = "probabilities"
    quantization: str | None = None
    source: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)


def read_model_info(path: str | os.PathLike) -> ModelInfo | None:
    """The model's `pawlite.json`, or None when the file has no appended zip holding one."""
    text = read_member(path, "pawlite.json")
    if text is None:
        return None
    try:
        raw = json.loads(text)
        if not str(raw.get("format", "")).startswith(FORMAT_PREFIX):
            raise ValueError(f"unknown format {raw.get('format')!r}")
        spec = raw["input"]
        output = raw.get("output", "probabilities")
        if output not in OUTPUT_KINDS:
            raise ValueError(f"output must be one of {OUTPUT_KINDS}, not {output!r}")
        return ModelInfo(
            class_names=tuple(str(c) for c in raw["class_names"]),
            height=int(spec["height"]),
            width=int(spec["width"]),
            channels=int(spec.get("channels", 3)),
            dtype=str(spec.get("dtype", "uint8")),
            resize=str(spec.get("resize", DEFAULT_RESIZE)),
            output=output,
            quantization=raw.get("quantization"),
            source=dict(raw.get("source") or {}),
            raw=raw,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelLoadError(
            f"{path}: its pawlite.json metadata is malformed ({e}). Re-export the model."
        ) from None


def read_labels(path: str | os.PathLike) -> tuple[str, ...] | None:
    """Class names from `labels.txt` in the appended zip (TFLite Support's layout), if any."""
    text = read_member(path, "labels.txt")
    if text is None:
        return None
    return parse_labels(text)


_INDEXED = re.compile(r"\s*(\d+)(?:\s+|\s*:\s*)(.*)")


def parse_labels(text: str) -> tuple[str, ...]:
    """One class name per line, in output order.

    Blank lines at the end are ignored; a blank line inside stays an (empty) name, because
    dropping it would shift every later class onto the wrong output. When every line starts
    with its own index (`0 FRESH APPLE` from Teachable Machine, `  1  tench` from pycoral,
    counting from 0 or from 1), the index is not part of the name.
    """
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    matches = [_INDEXED.fullmatch(line) for line in lines]
    if lines and all(matches):
        first = int(matches[0].group(1))
        if first in (0, 1) and all(int(m.group(1)) == first + i for i, m in enumerate(matches)):
            return tuple(m.group(2).strip() for m in matches)
    return tuple(lines)


def read_member(path: str | os.PathLike, name: str) -> str | None:
    """The text of file `name` in the zip appended to the model, or None when absent."""
    try:
        with zipfile.ZipFile(path) as archive:
            if name not in archive.namelist():
                return None
            return archive.read(name).decode("utf-8-sig")
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: model file not found.") from None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, KeyError):
        return None
