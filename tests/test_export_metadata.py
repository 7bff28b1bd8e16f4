"""The .tflite carries its labels and input spec: readable by edge alone and as TFLite Metadata."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile

import pytest

from export import metadata as md
from export.errors import ExportError
from tests.export_helpers import make_tiny_artifacts


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from export.converter import export_models

    config = make_tiny_artifacts(tmp_path_factory.mktemp("meta"))
    (model,) = export_models(dataclasses.replace(config, quantization="int8"))
    return config, model.path


def test_edge_reads_class_names_and_input_spec_back(exported):
    from edge.modelfile.modelinfo import read_labels, read_model_info
    from export.loaders import sha256_file
    from train.split import Split

    config, path = exported
    split = Split.load(config.split)
    info = read_model_info(path)
    assert info.class_names == ("cats", "dogs")
    assert (info.height, info.width, info.channels, info.dtype) == (32, 32, 3, "uint8")
    assert (info.resize, info.output, info.quantization) == ("tf-bilinear", "probabilities", "int8")
    assert info.raw["input"]["range"] == [0, 255] and info.raw["input"]["color"] == "RGB"
    assert info.source == {"keras_sha256": sha256_file(config.model),
                           "dataset_sha256": split.dataset_sha256, "split_seed": split.seed,
                           "calibration": {"images": 8, "seed": config.seed,
                                           "bias_correction_images": 8}}
    assert read_labels(path) == ("cats", "dogs")


def test_edge_reads_the_metadata_without_tensorflow(exported):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras', 'flatbuffers', 'export'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from edge.modelfile.modelinfo import read_model_info\n"
        f"info = read_model_info({str(exported[1])!r})\n"
        "print(list(info.class_names), info.height, info.width, info.quantization)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['cats',", "'dogs']", "32", "32", "int8"]


def test_tflite_metadata_declares_labels_on_the_output_and_an_rgb_image_input(exported):
    meta = md.read_model_metadata(exported[1].read_bytes())
    assert meta["name"] == "cats_vs_dogs" and meta["min_parser_version"] == "1.0.0"
    (inp,) = meta["inputs"]
    assert inp["content_type"] == md.CONTENT_IMAGE and inp["color_space"] == md.COLOR_RGB
    assert inp["size"] == [32, 32]
    assert inp["normalization"] == {"mean": [0.0], "std": [1.0]}
    (out,) = meta["outputs"]
    assert out["associated_files"] == [{"name": "labels.txt", "type": md.FILE_TENSOR_AXIS_LABELS}]
    assert meta["associated_files"] == [{"name": "pawlite.json", "type": md.FILE_UNKNOWN}]
    with zipfile.ZipFile(exported[1]) as archive:
        assert archive.read("labels.txt").decode() == "cats\ndogs\n"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        assert json.loads(archive.read("pawlite.json"))["format"] == "pawlite-model/1"


def test_populating_twice_keeps_one_metadata_entry_and_a_runnable_model(exported, tmp_path):
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    from edge.classifier import Classifier

    data = exported[1].read_bytes()
    with zipfile.ZipFile(exported[1]) as archive:
        flatbuffer_end = min(i.header_offset for i in archive.infolist())
    meta = md.build_model_metadata("again", "d", "2", (32, 32))
    spec = md.pawlite_spec(["dogs", "cats"], (32, 32), "tf-bilinear", "int8", {}, "test")
    files = md.associated_files(["dogs", "cats"], spec)
    again = md.populate(data[:flatbuffer_end], meta, files)
    assert md.read_model_metadata(again)["name"] == "again"
    root = schema.Model.GetRootAs(again, 0)
    names = [root.Metadata(i).Name() for i in range(root.MetadataLength())]
    assert names.count(md.METADATA_NAME.encode()) == 1
    path = tmp_path / "again.tflite"
    path.write_bytes(again)
    clf = Classifier(model_path=path)
    assert clf.class_names == ("dogs", "cats")
    assert clf.predict(np.zeros((1, 32, 32, 3), np.uint8)).shape == (1, 2)


def test_a_model_without_metadata_is_reported():
    with pytest.raises(ExportError, match="identifier"):
        md.read_model_metadata(b"\x00" * 64)
