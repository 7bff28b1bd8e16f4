"""The export stage's inputs, loaded one way for the converter, parity and the pipeline.

Kept apart from both so that neither imports the other for its inputs, and so that `train`
and Keras are imported only when an input is actually loaded.
"""

from __future__ import annotations

from pathlib import Path

from export.config import ExportConfig
from export.errors import ExportError


def load_split(config: ExportConfig):
    """train's `Split` from `config.split`, its images under `config.data_dir` when given."""
    from train.split import Split

    return Split.load(config.split, data_root=config.data_dir)


def load_keras_model(path: Path):
    """The trained Keras model, or an ExportError that says how to make one."""
    if not Path(path).is_file():
        raise ExportError(
            f"{path} not found. Train it first (`make train`, python -m train), or pass "
            "--model PATH to a Keras model."
        )
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ExportError(f"Could not load the Keras model {path} ({exc}).") from None


def sha256_file(path: Path) -> str:
    """The Keras model's identity, as train records the dataset's (`train.download`)."""
    from train.download import sha256_of

    return sha256_of(path)
