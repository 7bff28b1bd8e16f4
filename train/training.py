"""Fit one model the study's way and keep what happened per epoch, as a file and in the terminal.

Per-epoch results go to `history.json` (timm's habit: results are files; plots and the report
are drawn from them), and one line per epoch is printed so a 20-minute run shows progress.
A `CollapseWatch` stops a run as soon as `train.collapse` calls it collapsed: the remaining
epochs of a constant predictor would only cost time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from train.collapse import Collapse, check

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class FitResult:
    """One model's training: per-epoch metrics (lists, one value per epoch) and timing."""

    name: str
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    train_seconds: float
    collapse: Collapse | None = None

    @property
    def stopped(self) -> str:
        return "collapsed" if self.collapse else "completed"

    def to_json(self) -> dict:
        return {
            "model": self.name,
            "epochs": list(range(1, len(self.epoch_seconds) + 1)),
            **{k: self.history[k] for k in HISTORY_KEYS},
            "epoch_seconds": self.epoch_seconds,
            "train_seconds": self.train_seconds,
            "stopped": self.stopped,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def format_epoch(name: str, epoch: int, epochs: int, logs: dict, seconds: float, total: float):
    return (
        f"{name} epoch {epoch:>2}/{epochs}  loss {logs['loss']:.4f}  "
        f"accuracy {logs['accuracy']:.4f}  val_loss {logs['val_loss']:.4f}  "
        f"val_accuracy {logs['val_accuracy']:.4f}  {seconds:5.1f}s  (elapsed {total:6.1f}s)"
    )


@dataclass(frozen=True)
class CollapseWatch:
    """What `train.collapse.check` needs: the baselines and a batch of images to probe with."""

    majority_accuracy: float
    constant_loss: float
    probe_images: np.ndarray


def feature_validation(head, features, labels, batch_size: int):
    """A callback that fills val_loss/val_accuracy from the head on precomputed base features.

    It must come before the epoch logger in the callback list: both read the same logs, and
    Keras's History, which `fit` returns, is appended after them.
    """
    import keras
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch_size)

    class FeatureValidation(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            result = head.evaluate(data, verbose=0, return_dict=True)
            logs["val_loss"], logs["val_accuracy"] = result["loss"], result["accuracy"]

    return FeatureValidation()


def _epoch_logger(name: str, epochs: int, echo: Callable[[str], None],
                  watch: CollapseWatch | None):
    import keras

    class EpochLogger(keras.callbacks.Callback):
        """Prints one line per epoch, records its wall time, and stops a collapsed run."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self.logs: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
            self.collapse: Collapse | None = None
            self._start = self._epoch_start = time.perf_counter()

        def on_train_begin(self, logs=None):
            self._start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch_start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.seconds.append(now - self._epoch_start)
            line = format_epoch(name, epoch + 1, epochs, logs or {}, self.seconds[-1],
                                now - self._start)
            echo(line)
            for key in HISTORY_KEYS:
                self.logs[key].append(float((logs or {}).get(key, float("nan"))))
            if watch is not None and self.collapse is None:
                self.collapse = check(name, self.logs, watch.majority_accuracy,
                                      watch.constant_loss, self.model, watch.probe_images)
                if self.collapse is not None:
                    self.model.stop_training = True

    return EpochLogger()


def fit_model(
    model,
    train_ds,
    val_ds,
    epochs: int,
    name: str,
    echo: Callable[[str], None] = print,
    watch: CollapseWatch | None = None,
    validation=None,
) -> FitResult:
    """`model.fit` on the cached datasets with per-epoch validation, as in the study.

    `validation` (a `feature_validation` callback) replaces `val_ds` for model4.
    """
    logger = _epoch_logger(name, epochs, echo, watch)
    callbacks = [c for c in (validation, logger) if c is not None]
    start = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=None if validation else val_ds, epochs=epochs,
        callbacks=callbacks, verbose=0,
        shuffle=False,  # the dataset reshuffles itself each epoch from the split seed
    )
    train_seconds = time.perf_counter() - start
    return FitResult(
        name=name,
        history={k: [float(v) for v in history.history[k]] for k in HISTORY_KEYS},
        epoch_seconds=[round(s, 3) for s in logger.seconds],
        train_seconds=round(train_seconds, 3),
        collapse=logger.collapse,
    )
