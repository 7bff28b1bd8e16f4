"""The training input pipeline: decode each file once with TensorFlow, then feed from memory.

Pixels follow the study's `image_dataset_from_directory` (bilinear resize, no antialias) with
JPEGs decoded by libjpeg's accurate integer DCT, the one Pillow uses, so that `edge.pixels.decode`
can reproduce them on a device. Images are kept as uint8 (230 MB for the 3,000 images).
"""

from __future__ import annotations

import numpy as np

from train.split import Split

_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
JPEG_MAGIC = b"\xff\xd8\xff"


def _decode(path, image_size):
    import tensorflow as tf

    data = tf.io.read_file(path)
    is_jpeg = tf.equal(tf.strings.substr(data, 0, 3), JPEG_MAGIC)
    image = tf.cond(
        is_jpeg,
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )
    image.set_shape([None, None, 3])
    resized = tf.image.resize(image, image_size, method="bilinear", antialias=False)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8)


def decode_files(paths: list[str], image_size: tuple[int, int]) -> np.ndarray:
    """Model-input pixels for `paths`, as the Keras model saw them in training."""
    import tensorflow as tf

    h, w = image_size
    if not paths:
        return np.zeros((0, h, w, 3), np.uint8)
    ds = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    ds = ds.map(lambda p: _decode(p, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate(list(ds.batch(256).as_numpy_iterator()), axis=0)


def load_arrays(
    split: Split, name: str, image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (n, h, w, 3), int32 labels) for one split, decoded once per process."""
    size = tuple(image_size or split.image_size)
    paths = [str(p) for p in split.paths(name)]
    key = (tuple(paths), size)
    if key not in _CACHE:
        _CACHE[key] = (decode_files(paths, size), np.asarray(split.labels(name), np.int32))
    return _CACHE[key]


def to_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """A float32 0..255 batched dataset; reshuffled each epoch from a fixed seed."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return ds.prefetch(tf.data.AUTOTUNE)
