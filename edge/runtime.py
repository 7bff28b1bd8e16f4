"""The only module that imports a TFLite interpreter.

Preference order: `ai_edge_litert` (LiteRT, the maintained runtime), then `tflite_runtime`
(what piwheels has for 32-bit Raspberry Pi OS), then `tensorflow.lite` as a last resort on a
machine that happens to have TensorFlow (with a one-line note, since it costs seconds and
hundreds of MB to load). Everything else in `edge` takes the interpreter as an argument.

It also says which kernels run the model (`Kernels`): LiteRT applies XNNPACK by default, but
silently runs its builtin kernels instead when XNNPACK cannot start (cpuinfo cannot read the
CPU list in some containers and emulators) or takes no op (tflite-runtime 2.14's wheels leave
int8 models to the builtin kernels), and those round int8 differently from the path parity
measured. The only trace is in the graph: XNNPACK replaces the ops it takes by DELEGATE nodes.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass

from edge.errors import ModelLoadError
from edge.options import interpreter_threads

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


@dataclass(frozen=True)
class Kernels:
    """What ran the model: runtime, version, interpreter threads, and whether XNNPACK took
    any of the graph (None: this runtime cannot list its nodes)."""

    runtime: str
    version: str
    threads: int
    xnnpack: bool | None

    def describe(self) -> str:
        xnnpack = {True: "XNNPACK applied", False: "XNNPACK NOT applied (builtin kernels)",
                   None: "XNNPACK unknown (the runtime does not list its nodes)"}[self.xnnpack]
        threads = f"{self.threads} interpreter thread" + ("s" if self.threads != 1 else "")
        return f"{self.runtime} {self.version}, {threads}, {xnnpack}"

    def to_json(self) -> dict:
        return {"runtime": self.runtime, "version": self.version, "threads": self.threads,
                "xnnpack": self.xnnpack}

    def warning(self, model: str) -> str | None:
        """The stderr warning when XNNPACK did not run, else None."""
        if self.xnnpack is not False:
            return None
        return (f"warning: {self.runtime} {self.version} did not apply XNNPACK to {model}: "
                "it runs on TFLite's builtin kernels, whose int8 rounding differs from the "
                "path the parity report measured (probabilities can differ by up to 0.1). "
                "Causes: the runtime cannot read this machine's CPU list (some containers and "
                "emulators: mount /sys), or it has no XNNPACK kernel for these ops "
                "(tflite-runtime 2.14 and int8 models: install ai-edge-litert).")


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


def flatbuffer_schema():
    """The TFLite flatbuffer schema (generated Python) of the installed runtime, to re-pack a
    model with metadata: LiteRT ships it, else a development machine's TensorFlow. Raises
    ModelLoadError when neither is installed (tflite-runtime has none)."""
    for module_name in ("ai_edge_litert.schema_py_generated",
                        "tensorflow.lite.python.schema_py_generated"):
        try:
            return importlib.import_module(module_name)
        except ImportError:
            continue
    raise ModelLoadError("writing metadata into a model needs the TFLite schema that "
                         "ai-edge-litert ships: pip install ai-edge-litert (or TensorFlow).")


# What the C++ runtime prints to fd 2 as a matter of course (its INFO lines, e.g. "INFO: Created
# TensorFlow Lite XNNPACK delegate for CPU."): shown only when the `edge` logger is at INFO
# (`edge-classify --verbose`, the handler's LOG_LEVEL=INFO). Anything else it prints, such as an
# ERROR line, is passed on as it came.
_ROUTINE = re.compile(r"^INFO: ")
_FD_LOCK = threading.RLock()


@contextlib.contextmanager
def runtime_log():
    """Hold what the runtime writes to file descriptor 2 while the block runs (creating the
    interpreter and allocating its tensors, where it announces its delegates), then write it
    to stderr without its routine INFO lines unless the `edge` logger shows INFO."""
    with _FD_LOCK, tempfile.TemporaryFile() as held:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace")
    verbose = logging.getLogger("edge").isEnabledFor(logging.INFO)
    kept = [line for line in text.splitlines(keepends=True)
            if verbose or not _ROUTINE.match(line)]
    if kept:
        try:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # stderr closed: the descriptor itself
            os.write(2, "".join(kept).encode())


def runtime_version(runtime: Runtime) -> str:
    """The installed version of the runtime's package: its top module's `__version__` (the
    package metadata costs ~45 ms to search at start-up), else the metadata."""
    module = getattr(runtime.interpreter_class, "__module__", None) or ""
    top = sys.modules.get(module.partition(".")[0])
    version = getattr(top, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata

    name = "tensorflow-cpu" if runtime.name == "tensorflow" else runtime.name
    for candidate in (runtime.name, name):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return "unknown version"


def xnnpack_applied(interpreter) -> bool | None:
    """Whether XNNPACK took part of the allocated graph: its partitions are DELEGATE nodes
    (LiteRT, tflite-runtime and tensorflow.lite name them so). None when the runtime has no
    node list. Only the default delegates run here, and XNNPACK is the CPU's only one."""
    details = getattr(interpreter, "_get_ops_details", None)
    if details is None:
        return None
    try:
        return any(op.get("op_name") == "DELEGATE" for op in details())
    except (AttributeError, RuntimeError, ValueError):
        return None


def open_interpreter(model_path: str | os.PathLike, num_threads: int | None = None):
    """Load `model_path` and allocate its tensors; returns (interpreter, Kernels) and logs a
    warning when XNNPACK was not applied. Errors become ModelLoadError (exit code 3).

    `num_threads=None` means `edge.options.interpreter_threads()`.
    """
    runtime = find_runtime()
    if not os.path.isfile(model_path):
        raise ModelLoadError(f"{model_path}: model file not found. Pass --model PATH to a .tflite.")
    threads = num_threads or interpreter_threads()
    try:
        with runtime_log():
            interpreter = runtime.interpreter_class(model_path=str(model_path),
                                                    num_threads=threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError, OSError) as e:
        raise ModelLoadError(
            f"{model_path}: not a TFLite model this runtime ({runtime.name}) can load: {e}"
        ) from None
    kernels = Kernels(runtime.name, runtime_version(runtime), threads,
                      xnnpack_applied(interpreter))
    warning = kernels.warning(os.path.basename(model_path))
    if warning:
        log.warning(warning)
    return interpreter, kernels
