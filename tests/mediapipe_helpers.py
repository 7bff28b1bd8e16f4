"""Where MediaPipe runs for the tests that compare with it: it is not a pawlite dependency and
may not share a venv with TensorFlow, so those tests run it in a subprocess of this Python."""

from __future__ import annotations

import importlib.util
import os
import sys


def mediapipe_python() -> str | None:
    """This interpreter when it has mediapipe, else PAWLITE_MEDIAPIPE_PYTHON when it exists."""
    if importlib.util.find_spec("mediapipe") is not None:
        return sys.executable
    candidate = os.environ.get("PAWLITE_MEDIAPIPE_PYTHON")
    return candidate if candidate and os.path.isfile(candidate) else None
