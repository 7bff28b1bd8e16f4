"""Shared helpers for the export tests: a tiny dataset, its split and a Keras model in
model4's shape (these need TensorFlow; edge's tests never import this module)."""

from __future__ import annotations

from pathlib import Path

from export.config import ExportConfig
from tests.imagegen import make_dataset

IMAGE_SIZE = (32, 32)


def make_tiny_artifacts(root: Path, image_size=IMAGE_SIZE) -> ExportConfig:
    """A generated dataset, its split.json (4 test images) and a tiny Keras model under root.

    The model has model4's shape in miniature: augmentation and MobileNetV2's rescaling inside,
    raw 0..255 float input, logits out.
    """
    import keras

    from train.scan import scan_dataset
    from train.split import make_split

    data, out = root / "data", root / "artifacts"
    make_dataset(data, n_train=4, n_val=10)
    split = make_split(scan_dataset(data), seed=0, batch_size=2, image_size=image_size)
    split.save(out / "split.json")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((*image_size, 3))
    x = keras.layers.RandomFlip(seed=1)(inputs)
    x = keras.layers.RandomRotation(0.2, seed=2)(x)
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(x)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    model.save(out / "model4.keras")
    return ExportConfig(model=out / "model4.keras", split=out / "split.json", out=out,
                        representative_count=8, latency_runs=2)
