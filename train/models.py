"""The study's four architectures, built exactly as specified, and where model4's base comes from.

The study feeds raw 0..255 pixels to every model. Models 3 and 4 put MobileNetV2's
`preprocess_input` (x / 127.5 - 1) in front; it is written here as a `Rescaling(1/127.5,
offset=-1)` layer, the same function, so that a saved `.keras` file reloads (and converts to
TFLite) without custom code.

Base weights are never silently random: "imagenet" means Keras's official download, anything
else a file or URL; each failure is a `PawliteError` naming what failed and `--base-weights`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from train.config import ADAM_DEFAULT_LEARNING_RATE
from train.download import sha256_of
from train.errors import PawliteError

MODEL_NUMBERS = (1, 2, 3, 4)
IMAGENET_WEIGHTS_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
IMAGENET_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    + IMAGENET_WEIGHTS_FILE
)
_URL_SCHEMES = ("http://", "https://", "file://")


@dataclass(frozen=True)
class BaseWeights:
    """The resolved MobileNetV2 weights: what the user asked for and the exact file used."""

    spec: str
    path: Path
    sha256: str

    def to_json(self) -> dict:
        return {"spec": self.spec, "path": str(self.path), "sha256": self.sha256}


def _download(url: str, fname: str) -> Path:
    import keras

    try:
        return Path(keras.utils.get_file(fname, url, cache_subdir="models"))
    except Exception as exc:
        raise PawliteError(
            f"Could not download the MobileNetV2 base weights from {url} ({exc}). "
            "On a machine without internet, pass a local weights file with "
            "--base-weights PATH (e.g. ../shared/models/mobilenet_v2_1.0_160_no_top.h5)."
        ) from None


def resolve_base_weights(spec: str | os.PathLike,
                         imagenet_url: str = IMAGENET_WEIGHTS_URL) -> BaseWeights:
    """Turn `--base-weights` ("imagenet", a URL or a file path) into a local file and its hash."""
    spec = os.fspath(spec)
    if spec == "imagenet":
        path = _download(imagenet_url, IMAGENET_WEIGHTS_FILE)
    elif spec.startswith(_URL_SCHEMES):
        path = _download(spec, Path(spec.split("?")[0]).name or "base_weights.h5")
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise PawliteError(
                f"Base weights file {path} not found. Pass an existing MobileNetV2 1.0 no-top "
                "weights file with --base-weights PATH, or --base-weights imagenet to download "
                f"Keras's official weights from {imagenet_url}."
            )
    return BaseWeights(spec=spec, path=path.resolve(), sha256=sha256_of(path))


def build_base(image_size: tuple[int, int], weights: Path | None):
    """MobileNetV2 1.0 without its top; `weights=None` (random) is for offline tests only."""
    import keras

    shape = (*image_size, 3)
    try:
        return keras.applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=None if weights is None else str(weights)
        )
    except Exception as exc:
        if weights is None:
            raise
        raise PawliteError(
            f"Could not load MobileNetV2 base weights from {weights} ({exc}). "
            "Pass a MobileNetV2 1.0 no-top weights file (.h5 or .weights.h5) with "
            "--base-weights PATH, or --base-weights imagenet."
        ) from None


def _preprocessor():
    from keras import layers

    return layers.Rescaling(1.0 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")


def _augmentation(seed: int) -> list:
    from keras import layers

    return [
        layers.RandomFlip(seed=seed, name="random_flip"),
        layers.RandomRotation(0.2, seed=seed + 1, name="random_rotation"),
    ]


def _conv_blocks(seed: int, dropout_after_first: bool) -> list:
    """The study's three Conv/MaxPool blocks; model1 drops out after all three, 2-3 after one."""
    from keras import layers

    out = []
    for i, filters in enumerate((32, 32, 64)):
        out += [layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D(2)]
        if i == 0 and dropout_after_first:
            out.append(layers.Dropout(0.2, seed=seed))
    if not dropout_after_first:
        out.append(layers.Dropout(0.2, seed=seed))
    return out


def _head(num_classes: int) -> list:
    from keras import layers

    return [layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(num_classes)]


def _sequential(number: int, image_size: tuple[int, int], seed: int, num_classes: int):
    import keras

    stack = [keras.Input((*image_size, 3))]
    if number == 3:
        stack.append(_preprocessor())
    if number in (2, 3):
        stack += _augmentation(seed)
    stack += _conv_blocks(seed, dropout_after_first=number != 1)
    stack += _head(num_classes)
    return keras.Sequential(stack, name=f"model{number}")


def _model4(image_size: tuple[int, int], weights: Path | None, seed: int, num_classes: int):
    """Frozen base called with training=False; its BatchNorms stay in inference mode in fit()."""
    import keras
    from keras import layers

    base = build_base(image_size, weights)
    base.trainable = False
    inputs = keras.Input((*image_size, 3))
    x = _preprocessor()(inputs)
    for layer in _augmentation(seed):
        x = layer(x)
    x = base(x, training=False)
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dropout(0.2, seed=seed)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name="model4")


def build_model(
    number: int,
    image_size: tuple[int, int] = (160, 160),
    weights: Path | None = None,
    seed: int = 1337,
    num_classes: int = 2,
    learning_rate: float = ADAM_DEFAULT_LEARNING_RATE,
):
    """Build and compile model `number` (1-4) with Adam's default rate, as the study did.

    `learning_rate` exists so tests can make a model collapse; the study never changes it.

    Seeds Keras's global RNG first, so a model's initial weights do not depend on which
    other models were built before it. `weights` is model4's base weights file. The study's
    Dense(2) head is Dense(num_classes), so a user's own folder-per-class dataset works.
    """
    import keras

    if number not in MODEL_NUMBERS:
        raise PawliteError(f"Unknown model {number}; choose from --models 1,2,3,4.")
    keras.utils.set_random_seed(seed)
    if number == 4:
        model = _model4(image_size, weights, seed, num_classes)
    else:
        model = _sequential(number, image_size, seed, num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def param_counts(model) -> dict[str, int]:
    """Trainable and total weights, counted from the variables (not from the study's text)."""
    import numpy as np

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = sum(int(np.prod(w.shape)) for w in model.weights)
    return {"trainable": trainable, "total": total, "non_trainable": total - trainable}


def model4_parts(model):
    """(features, head) of a built model4, sharing its layers and weights.

    In inference the augmentation layers pass images through unchanged and the frozen base
    runs with training=False, so validation images give the same base features every epoch:
    `train.training.FeatureValidation` computes them once and runs only the head per epoch.
    """
    import keras

    at = next(i for i, layer in enumerate(model.layers) if isinstance(layer, keras.Model))
    base = model.layers[at]
    inputs = keras.Input(model.input_shape[1:])
    features = keras.Model(inputs, base(model.get_layer("mobilenet_v2_preprocess")(inputs),
                                        training=False))
    x = head_inputs = keras.Input(base.output.shape[1:])
    for layer in model.layers[at + 1:]:
        x = layer(x)
    head = keras.Model(head_inputs, x)
    head.compile(loss=model.loss, metrics=["accuracy"])
    return features, head
