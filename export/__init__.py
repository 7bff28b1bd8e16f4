"""pawlite export stage: Keras model4 -> .tflite with labels inside -> accuracy-parity gate.

`python -m export` converts (and runs parity); `python -m export parity` re-checks. The Python
API is `export.pipeline.run(config)` and `export.pipeline.check(config)` (over
`export.converter.export_models` and `export.parity.run_parity`, which share their inputs
through `export.loaders`); user errors are `export.errors.ExportError`. Importing this package
imports neither `train` nor TensorFlow.
"""
