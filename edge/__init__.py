"""pawlite edge stage: classify photos with a TFLite model, without TensorFlow.

`Classifier` and `Result` are the Python API (see DEVELOPERS.md); `edge-classify` is the CLI.
"""

from edge.classifier import Classifier, Result
from edge.errors import EdgeError, ImageError, ModelLoadError

__all__ = ["Classifier", "EdgeError", "ImageError", "ModelLoadError", "Result"]
