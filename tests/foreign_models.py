"""Small "third-party" classifiers for conformance tests, in the conventions other tools use.

Each model sees a 16x16 RGB image and answers which channel dominates ("red", "green",
"blue"). It is built for one input normalization (the one a foreign trainer would have used),
converted the way other exporters convert (float, uint8 or int8 input, softmax or logits) and,
when asked, given standard TFLite Metadata, with its label file under a name that is not
`labels.txt`. `expected(pixels)` is the Keras answer for uint8 pixels, the reference.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SIZE = 16
NAMES = ("red", "green", "blue")
_DIR = Path(tempfile.mkdtemp(prefix="pawlite-foreign-"))


@dataclass(frozen=True)
class ForeignModel:
    path: Path
    mean: tuple[float, ...]
    std: tuple[float, ...]
    logits: bool
    keras: object
    channels_first: bool = False

    def expected(self, pixels: np.ndarray) -> np.ndarray:
        """Keras on `(pixels - mean) / std`; softmax-ed when the model outputs logits."""
        x = (pixels.astype(np.float32) - np.float32(self.mean)) / np.float32(self.std)
        if self.channels_first:
            x = x.transpose(0, 3, 1, 2)
        out = np.asarray(self.keras(x, training=False))
        if self.logits:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return out


@functools.cache
def build(
    input_type: str = "float32",
    mean: tuple[float, ...] = (127.5,),
    std: tuple[float, ...] = (127.5,),
    logits: bool = False,
    metadata: bool = True,
    metadata_mean: tuple[float, ...] | None = None,
    metadata_std: tuple[float, ...] | None = None,
    labels_file: str = "colours.txt",
    channels_first: bool = False,
) -> ForeignModel:
    """A model trained on `(pixel - mean) / std`; its metadata states `metadata_mean/std`
    (default: the truth)."""
    tf = pytest.importorskip("tensorflow")
    keras = tf.keras
    mean3 = np.broadcast_to(np.float32(mean), 3)
    std3 = np.broadcast_to(np.float32(std), 3)
    inputs = keras.Input((3, SIZE, SIZE) if channels_first else (SIZE, SIZE, 3))
    x = keras.layers.Permute((2, 3, 1))(inputs) if channels_first else inputs
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(3, activation=None if logits else "softmax")
    model = keras.Model(inputs, dense(x))
    # logit_c = 10 * (pixel_c - 127.5) / 255, recovered from the normalized input.
    dense.set_weights([np.diag(10 * std3 / 255).astype(np.float32),
                       (10 * (mean3 - 127.5) / 255).astype(np.float32)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if input_type != "float32":
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(64):
                pixels = rng.uniform(0, 255, (1, 1, 1, 3)) * np.ones((1, SIZE, SIZE, 3))
                pixels[0, :8] = rng.uniform(0, 255, 3)
                x = ((pixels - mean3) / std3).astype(np.float32)
                yield [x.transpose(0, 3, 1, 2) if channels_first else x]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = getattr(tf, input_type)
        converter.inference_output_type = getattr(tf, input_type)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        flatbuffer = converter.convert()
    key = (f"{input_type}-{'_'.join(map(str, mean))}-{'_'.join(map(str, std))}-{logits}"
           f"-{channels_first}")
    path = _DIR / f"{key}-{metadata}-{metadata_mean}-{metadata_std}-{labels_file}.tflite"
    if metadata:
        from export import metadata as md

        meta = md.build_model_metadata(
            "colours", "a third-party colour classifier", "1", (SIZE, SIZE),
            mean=metadata_mean or mean, std=metadata_std or std, labels_file=labels_file,
            probabilities=not logits, pawlite_file=False, author="someone else")
        labels = "".join(f"{n}\n" for n in NAMES).encode()
        flatbuffer = md.populate(flatbuffer, meta, {labels_file: labels})
    path.write_bytes(flatbuffer)
    return ForeignModel(path, tuple(mean), tuple(std), logits, model, channels_first)


def colour_batch(seed: int = 0, n: int = 12) -> np.ndarray:
    """Images dominated by one channel each (and a few mixed ones), uint8."""
    rng = np.random.default_rng(seed)
    batch = rng.integers(0, 120, (n, SIZE, SIZE, 3)).astype(np.uint8)
    for i in range(n):
        batch[i, ..., i % 3] = rng.integers(150, 256)
    return batch
