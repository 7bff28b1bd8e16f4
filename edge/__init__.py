"""pawlite edge stage: classify photos with a TFLite model, without TensorFlow.

`Classifier` and `Result` are the Python API (see DEVELOPERS.md); `edge-classify` is the CLI.
They are imported on first use, so `edge-classify --help` starts without numpy or Pillow.
"""

from edge.errors import EdgeError, ImageError, ModelLoadError

__all__ = ["Classifier", "EdgeError", "ImageError", "ModelLoadError", "Result"]


def __getattr__(name: str):
    if name in ("Classifier", "Result"):
        from edge import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module 'edge' has no attribute {name!r}")
