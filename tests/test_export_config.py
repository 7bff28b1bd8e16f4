"""ExportConfig: what it refuses (an ExportError, exit 1), the variants and files it names, and
the parity.json `config` block it writes. No TensorFlow needed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from export.config import QUANTIZATIONS, ExportConfig
from export.errors import ExportError


@pytest.mark.parametrize("options,message", [
    ({"quantization": "int4"}, "use one of int8, float16, dynamic, float32"),
    ({"resize": "nearest"}, "use one of tf-bilinear, pillow-bilinear, asymmetric-bilinear"),
    ({"representative_count": 0}, "at least 1 image"),
    ({"bias_correction_images": -1}, "0 turns it off"),
    ({"min_agreement": 1.5}, "a fraction in 0..1"),
    ({"confident_level": -0.2}, "a probability in 0..1"),
    ({"max_accuracy_drop": -0.1}, "in points, >= 0"),
])
def test_out_of_range_options_are_export_errors(options, message):
    with pytest.raises(ExportError, match=message):
        ExportConfig(**options)


def test_the_variants_and_where_each_is_written():
    assert ExportConfig().variants == ("int8",)
    assert ExportConfig(quantization="float16").variants == ("float16",)
    assert ExportConfig(all_variants=True).variants == QUANTIZATIONS
    config = ExportConfig(model=Path("artifacts/model5.keras"))
    assert config.tflite_path("int8") == Path("artifacts/model5_int8.tflite")
    assert config.report_dir == Path("artifacts/model5_parity")
    config = ExportConfig(model=Path("runs/best.keras"), out=Path("exports"))
    assert config.tflite_path("dynamic") == Path("exports/best_dynamic.tflite")
    with pytest.raises(ExportError, match="No Keras model chosen yet"):
        ExportConfig().tflite_path("int8")


def test_to_json_records_every_field_as_plain_json():
    config = ExportConfig(model=Path("artifacts/model4.keras"), data_dir=Path("/data"),
                          tflite=Path("m.tflite"), resize="tf-bilinear", num_threads=2)
    document = config.to_json()
    assert set(document) == {f.name for f in dataclasses.fields(ExportConfig)}
    assert json.loads(json.dumps(document)) == document
    assert (document["data_dir"], document["tflite"], document["model"]) == (
        "/data", "m.tflite", "artifacts/model4.keras")
    assert ExportConfig().to_json()["data_dir"] is None
    assert ExportConfig().to_json()["model"] is None  # chosen later, by export.choose


def test_the_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ExportConfig().quantization = "float32"
