"""Conversion to each variant on a tiny random model; the checks that refuse a bad file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from export.config import QUANTIZATIONS, ExportConfig
from export.errors import ExportError
from tests.export_helpers import IMAGE_SIZE, make_tiny_artifacts


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> ExportConfig:
    return make_tiny_artifacts(tmp_path_factory.mktemp("export"))


def _tensor_types(path: Path) -> tuple[list[int], int]:
    from tensorflow.lite.python import schema_py_generated as schema

    graph = schema.Model.GetRootAs(path.read_bytes(), 0).Subgraphs(0)
    types = [graph.Tensors(i).Type() for i in range(graph.TensorsLength())]
    return types, graph.Outputs(0)


def test_representative_sample_is_class_balanced_and_seeded():
    from train.split import Split

    names = ["cats"] * 30 + ["dogs"] * 10
    items = tuple((f"train/{name}/{i}.jpg", int(name == "dogs")) for i, name in enumerate(names))
    split = Split(seed=0, batch_size=2, image_size=(8, 8), class_names=("cats", "dogs"),
                  data_root=Path("/d"), data_source="", dataset_sha256=None,
                  splits={"train": items})
    from export.converter import representative_paths

    chosen = representative_paths(split, 9, seed=5)
    assert chosen == representative_paths(split, 9, seed=5)
    assert chosen != representative_paths(split, 9, seed=6)
    assert len(set(chosen)) == 9
    assert sum("/dogs/" in str(p) for p in chosen) == 4
    assert len(representative_paths(split, 100, seed=5)) == 40


@pytest.mark.parametrize("variant", QUANTIZATIONS)
def test_each_variant_converts_to_a_raw_pixel_probability_model(tiny, variant):
    from edge.classifier import Classifier
    from edge.modelfile.modelinfo import read_model_info
    from export.converter import export_models

    (exported,) = export_models(dataclasses.replace(tiny, quantization=variant))
    assert exported.path == tiny.out / f"model4_{variant}.tflite"
    assert exported.size_bytes == exported.path.stat().st_size > 0
    clf = Classifier(model_path=exported.path)
    assert clf._input["dtype"] == np.uint8
    pixels = np.random.default_rng(0).integers(0, 256, (3, *IMAGE_SIZE, 3), dtype=np.uint8)
    probs = clf.predict(pixels)
    assert probs.shape == (3, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=0.01)
    info = read_model_info(exported.path)
    assert info.quantization == variant
    expected = {"images": 8, "seed": tiny.seed, "bias_correction_images": 8}  # 64 capped at 8
    assert info.source.get("calibration") == (expected if variant == "int8" else None)


def test_int8_is_integer_inside_with_uint8_raw_pixel_input(tiny):
    from edge.classifier import Classifier
    from export.converter import export_models

    (exported,) = export_models(dataclasses.replace(tiny, quantization="int8"))
    assert Classifier(model_path=exported.path)._input["quantization"] == (1.0, 0)
    types, output = _tensor_types(exported.path)
    float_tensors = [i for i, t in enumerate(types) if t == 0]  # TensorType.FLOAT32
    assert float_tensors == [output]


def test_input_scale_check_refuses_calibration_that_misses_0_or_255(tiny):
    from export.converter import check_raw_pixel_input, convert
    from export.loaders import load_keras_model

    model = load_keras_model(tiny.model)
    narrow = np.random.default_rng(0).integers(20, 200, (4, *IMAGE_SIZE, 3)).astype(np.uint8)
    with pytest.raises(ExportError, match="not raw 0..255 pixels"):
        check_raw_pixel_input(convert(model, "int8", IMAGE_SIZE, narrow))


def test_a_written_file_that_does_not_run_is_removed(tmp_path):
    from export.converter import check_loads

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(ExportError, match="cannot run it"):
        check_loads(bad, IMAGE_SIZE, ("cats", "dogs"))
    assert not bad.exists()


def test_model_and_split_image_sizes_must_match(tiny, tmp_path):
    from export.converter import export_models

    other = make_tiny_artifacts(tmp_path, image_size=(24, 24))
    with pytest.raises(ExportError, match="export the model trained on this split"):
        export_models(dataclasses.replace(tiny, model=other.model, out=tmp_path / "x"))

