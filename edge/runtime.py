"""The only module that imports a TFLite interpreter.

Preference order: `ai_edge_litert` (LiteRT, the maintained runtime), then `tflite_runtime`
(what piwheels has for 32-bit Raspberry Pi OS), then `tensorflow.lite` as a last resort on a
machine that happens to have TensorFlow (with a one-line note, since it costs seconds and
hundreds of MB to load). Everything else in `edge` takes the interpreter as an argument.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass

from edge.errors import ModelLoadError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "No TFLite runtime is installed. Install one with `pip install ai-edge-litert` "
    "(or, on 32-bit Raspberry Pi OS, `pip install tflite-runtime`)."
)
TENSORFLOW_NOTE = (
    "note: using tensorflow.lite's interpreter (slow to load); "
    "`pip install ai-edge-litert` for a lighter runtime"
)
_CANDIDATES = (
    ("ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow.lite", "tensorflow"),
)


@dataclass(frozen=True)
class Runtime:
    """An interpreter class and the name of the package it came from."""

    interpreter_class: type
    name: str


def find_runtime() -> Runtime:
    """Import the first available interpreter in preference order, or raise ModelLoadError."""
    for module_name, package in _CANDIDATES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if package == "tensorflow":
            log.warning(TENSORFLOW_NOTE)
        return Runtime(module.Interpreter, package)
    raise ModelLoadError(INSTALL_HINT)


def runtime_version(runtime: Runtime) -> str:
    """The installed version of the runtime's package, for `edge-classify --info`."""
    from importlib import metadata

    name = "tensorflow-cpu" if runtime.name == "tensorflow" else runtime.name
    for candidate in (runtime.name, name):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return "unknown version"


def cpu_threads() -> int:
    """Every CPU core: the default number of decoder threads and of threads in all."""
    return os.cpu_count() or 1


def default_interpreter_threads(threads: int | None = None) -> int:
    """Half of `threads` (default: every core) for the interpreter: decoding runs beside
    inference on the other half (see edge.pipeline). The one place that split is decided."""
    return max(1, (threads or cpu_threads()) // 2)


def open_interpreter(model_path: str | os.PathLike, num_threads: int | None = None):
    """Load `model_path` and allocate its tensors; errors become ModelLoadError (exit code 3).

    `num_threads=None` means `default_interpreter_threads()`.
    """
    runtime = find_runtime()
    if not os.path.isfile(model_path):
        raise ModelLoadError(f"{model_path}: model file not found. Pass --model PATH to a .tflite.")
    threads = num_threads or default_interpreter_threads()
    try:
        interpreter = runtime.interpreter_class(model_path=str(model_path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError, OSError) as e:
        raise ModelLoadError(
            f"{model_path}: not a TFLite model this runtime ({runtime.name}) can load: {e}"
        ) from None
    return interpreter
