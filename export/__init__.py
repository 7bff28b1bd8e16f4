"""pawlite export stage: Keras model4 -> .tflite with labels inside -> accuracy-parity gate.

`python -m export` converts (and runs parity); `python -m export parity` re-checks. The Python
API is `export.converter.export_models(config)` and `export.parity.run_parity(config)`.
"""

from train.errors import PawliteError


class ExportError(PawliteError):
    """A problem with the export's inputs or outputs, with a message that says what to do."""


__all__ = ["ExportError"]
