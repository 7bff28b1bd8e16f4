"""The one error class a user of the export stage can hit: printed without a traceback.

It is not a `train.errors.PawliteError`: `export.config`, `export.errors` and everything else
that only describes an export must import without `train`, whose package sets a TensorFlow
environment variable on import. The CLI catches both classes.
"""


class ExportError(Exception):
    """A problem with the export's inputs or outputs, with a message that says what to do."""
