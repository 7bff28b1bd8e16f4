"""Keras model4 -> .tflite variants with labels and preprocessing inside, each checked to load.

Every variant takes raw uint8 RGB pixels (the MobileNetV2 preprocessing stays inside the model)
and returns class probabilities: a softmax is appended to the Keras logits, and the model is
traced with `training=False` so its augmentation layers are inert. int8 is full-integer
post-training quantization calibrated on a seeded, class-balanced sample of the training split,
with int8 builtins only so that no layer silently stays float.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from edge.pixels.decode import DEFAULT_RESIZE
from export import metadata as md
from export.config import ExportConfig
from export.errors import ExportError
from export.loaders import load_keras_model, load_split, sha256_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportedModel:
    """One written .tflite file and what it took to make it."""

    variant: str
    path: Path
    size_bytes: int
    seconds: float


def pawlite_version() -> str:
    try:
        return importlib_metadata.version("pawlite")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def representative_paths(split, count: int, seed: int) -> list[Path]:
    """A seeded, class-balanced sample of the training split (all of it when it is smaller)."""
    labels = np.asarray(split.labels("train"))
    paths = split.paths("train")
    rng = np.random.default_rng(seed)
    k = len(split.class_names)
    chosen = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        want = min(len(members), count // k + (1 if c < count % k else 0))
        chosen.extend(rng.choice(members, size=want, replace=False).tolist())
    return [paths[i] for i in rng.permutation(chosen)]


def pin_input_range(images: np.ndarray) -> np.ndarray:
    """Set one pixel to 0 and one to 255 so the calibrated uint8 input is exactly raw pixels.

    The converter derives the input's scale from the calibration range; any sample that misses
    0 or 255 would give a scale slightly off 1 and every device pixel would be rescaled.
    """
    images = np.array(images, copy=True)
    images[0, 0, 0, :] = 0
    images[0, 0, -1, :] = 255
    return images


def _inference_function(model, image_size, input_dtype):
    """Softmax(model(pixels)) in inference mode, as a concrete function taking (n, h, w, 3)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *image_size, 3], input_dtype, name="image")

    @tf.function(input_signature=[spec])
    def probabilities(image):
        return tf.nn.softmax(model(tf.cast(image, tf.float32), training=False), axis=-1)

    return probabilities.get_concrete_function()


def convert(model, variant: str, image_size, representative: np.ndarray | None = None,
            correction_images: int = 0) -> bytes:
    """The bare .tflite flatbuffer (no metadata) of one quantization variant.

    int8 then gets its conv biases corrected on the first `correction_images` calibration images.
    """
    import tensorflow as tf

    if variant == "int8" and (representative is None or not len(representative)):
        raise ExportError("int8 quantization needs representative images from the training split.")
    # int8 traces a float input so the converter can quantize it to uint8 (scale 1, zero 0);
    # the float variants cast uint8 inside the graph, so every variant takes the same pixels.
    input_dtype = tf.float32 if variant == "int8" else tf.uint8
    function = _inference_function(model, image_size, input_dtype)
    # No trackable object: given the Keras model, a graph without random layers keeps
    # READ_VARIABLE ops and int8 calibration fails; model4 converts to the same bytes either way.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    if variant in ("int8", "float16", "dynamic"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        def samples():
            for image in representative:
                yield [image[None].astype(np.float32)]

        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
    try:
        with warnings.catch_warnings():
            # Raised for every uint8-input model; the input range is checked after conversion.
            warnings.filterwarnings("ignore", "Statistics for quantized inputs")
            bare = bytes(converter.convert())
    except Exception as exc:
        raise ExportError(f"TFLite conversion ({variant}) failed: {exc}") from None
    if variant == "int8" and correction_images:
        bare = bias_corrected(function, bare, representative[:correction_images])
    return bare


def bias_corrected(function, quantized: bytes, images: np.ndarray) -> bytes:
    """`quantized` after export.bias_correction, measured against a float32 twin of `function`.

    `function` is the float-input concrete function `quantized` was converted from.
    """
    import tensorflow as tf

    from edge.runtime import find_runtime
    from export.bias_correction import correct_biases

    start = time.perf_counter()
    reference = bytes(tf.lite.TFLiteConverter.from_concrete_functions([function]).convert())
    corrected, layers = correct_biases(quantized, reference, images,
                                       find_runtime().interpreter_class)
    if not layers:
        log.info("int8 bias correction: no convolution with its own int32 bias; left as is")
    else:
        offsets = [layer.mean_abs_offset_steps for layer in layers]
        log.info("int8 bias correction: %d layers on %d images, mean |offset| %.2f steps "
                 "(largest layer %.2f) (%.0f s)", len(layers), len(images), np.mean(offsets),
                 max(offsets), time.perf_counter() - start)
    return corrected


def check_raw_pixel_input(model: bytes) -> None:
    """Refuse a model whose uint8 input is not raw pixels (scale 1, zero point 0)."""
    from tensorflow.lite.python import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    graph = root.Subgraphs(0)
    tensor = graph.Tensors(graph.Inputs(0))
    if tensor.Type() != schema.TensorType.UINT8:
        raise ExportError("The converted model's input is not uint8.")
    quant = tensor.Quantization()
    if quant is not None and quant.ScaleLength():
        scale, zero = float(quant.Scale(0)), int(quant.ZeroPoint(0))
        if abs(scale - 1.0) > 1e-6 or zero != 0:
            raise ExportError(
                f"The int8 model's input quantization is scale {scale:g}, zero point {zero}, "
                "not raw 0..255 pixels: the representative images do not span 0..255. "
                "Use more representative images (--representative-count)."
            )


def check_loads(path: Path, image_size, class_names) -> None:
    """Run one blank image through edge's classifier; delete the file and raise if it fails."""
    from edge.classifier import Classifier

    try:
        probs = Classifier(model_path=path).predict(np.zeros((1, *image_size, 3), np.uint8))
        shape = np.asarray(probs).shape
        if shape != (1, len(class_names)):
            raise ValueError(f"output shape {shape}, expected (1, {len(class_names)})")
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise ExportError(
            f"{path} was written but edge's TFLite runtime cannot run it ({exc}); "
            "the file was removed. Check the Keras model and the TFLite runtime version."
        ) from None


def write_variant(config: ExportConfig, model, split, variant: str, representative, source):
    """Convert, embed metadata, write atomically, and prove the file loads."""
    start = time.perf_counter()
    size = tuple(split.image_size)
    corrected = 0
    if variant == "int8":
        corrected = min(config.bias_correction_images, len(representative))
    bare = convert(model, variant, size, representative, corrected)
    check_raw_pixel_input(bare)
    resize = config.resize or DEFAULT_RESIZE
    if variant == "int8":
        source = {**source, "calibration": {
            "images": len(representative), "seed": config.seed,
            "bias_correction_images": corrected,
        }}
    spec = md.pawlite_spec(split.class_names, size, resize, variant, source, pawlite_version())
    meta = md.build_model_metadata(
        name="_vs_".join(split.class_names),
        description=f"Image classifier ({variant}) exported by pawlite from {config.model.name}: "
        "raw RGB pixels in, class probabilities out.",
        version=source["keras_sha256"][:12],
        image_size=size,
    )
    data = md.populate(bare, meta, md.associated_files(split.class_names, spec))
    path = config.tflite_path(variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    check_loads(path, size, split.class_names)
    exported = ExportedModel(variant, path, len(data), time.perf_counter() - start)
    log.info("%s: %s, %.2f MB (%.0f s)", variant, path, len(data) / 1e6, exported.seconds)
    return exported


def export_models(config: ExportConfig, split=None, model=None) -> list[ExportedModel]:
    """Write every variant `config` asks for; `split` and `model` default to config's files."""
    split = split or load_split(config)
    model = model or load_keras_model(config.model)
    expected = (None, *split.image_size, 3)
    if tuple(model.input_shape) != expected:
        raise ExportError(
            f"{config.model} takes input {model.input_shape}, but {config.split} says images "
            f"are {tuple(split.image_size)}: export the model trained on this split."
        )
    source = {
        "keras_sha256": sha256_file(config.model),
        "dataset_sha256": split.dataset_sha256,
        "split_seed": split.seed,
    }
    representative = None
    if "int8" in config.variants:
        from train.dataset import decode_files

        paths = representative_paths(split, config.representative_count, config.seed)
        log.info("int8 calibration on %d training images", len(paths))
        representative = pin_input_range(
            decode_files([str(p) for p in paths], tuple(split.image_size))
        )
    return [
        write_variant(config, model, split, variant, representative, source)
        for variant in config.variants
    ]
