"""pawlite export stage: Keras model4 -> .tflite with labels inside -> accuracy-parity gate.

`python -m export` converts (and runs parity); `python -m export parity` re-checks. The Python
API is `export.converter.export_models(config)` and `export.parity.run_parity(config)`; user
errors are `export.errors.ExportError`. Importing this package imports neither `train` nor
TensorFlow.
"""
