"""What a run's numbers depend on besides the code and the seed: the CPU and the libraries.

Float reductions are summed in an order that depends on the CPU's vector width (AVX2 or
AVX-512), on oneDNN's kernels and on the thread count, so two machines with the same seed
round differently and a fragile model (model1) can end up elsewhere. Recording
these lets a reader tell "another machine" from "another bug".
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
REPRODUCIBLE = (
    "Reproducible means: the same machine (CPU model and flags), the same library versions and "
    "the same settings below give identical numbers, run after run. Another CPU, thread count "
    "or oneDNN setting rounds floats differently, so its numbers differ; they should fall "
    "inside the spread over seeds, which is why the study is reported over several seeds."
)


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """CPU model and the vector extensions that change float rounding, from /proc/cpuinfo."""
    model, flags = None, set()
    try:
        text = cpuinfo.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return {
        "model": model or platform.processor() or platform.machine(),
        "avx2": "avx2" in flags,
        "avx512": sorted(f for f in flags if f.startswith("avx512")),
        "cores": os.cpu_count(),
    }


def onednn_enabled() -> bool | None:
    """What TensorFlow decided (the variable, else its CPU-based default); None if unknown."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def runtime_info() -> dict:
    """Threads and oneDNN: the settings that decide both speed and float rounding."""
    import tensorflow as tf

    return {
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        **{name: os.environ.get(name) for name in THREAD_VARIABLES},
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "onednn": onednn_enabled(),
    }


def library_versions() -> dict[str, str]:
    import keras
    import matplotlib
    import numpy
    import PIL
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def machine_info() -> dict:
    """Everything above in one record, as metrics.json keeps it under "machine"."""
    return {"cpu": cpu_info(), "runtime": runtime_info(), "versions": library_versions()}
