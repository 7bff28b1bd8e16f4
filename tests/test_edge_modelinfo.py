"""edge.modelfile.modelinfo: the appended zip, read with zipfile alone."""

import pytest

from edge.errors import ModelLoadError
from edge.modelfile.modelinfo import read_labels, read_model_info
from tests.edge_helpers import CLASS_NAMES, append_metadata, metadata


def _fake_model(tmp_path, name="m.tflite"):
    path = tmp_path / name
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(200))
    return path


def test_reads_pawlite_json_after_the_flatbuffer(tmp_path):
    path = _fake_model(tmp_path)
    append_metadata(path, metadata(160, output="logits"))
    info = read_model_info(path)
    assert info.class_names == CLASS_NAMES
    assert (info.height, info.width, info.channels, info.dtype) == (160, 160, 3, "uint8")
    assert info.resize == "tf-bilinear" and info.output == "logits"
    assert info.quantization == "int8" and info.source == {"split_seed": 1337}
    assert info.raw["format"] == "pawlite-model/1"
    assert read_labels(path) == CLASS_NAMES


def test_none_without_zip_or_without_pawlite_json(tmp_path):
    plain = _fake_model(tmp_path)
    assert read_model_info(plain) is None and read_labels(plain) is None
    labels_only = _fake_model(tmp_path, "labels.tflite")
    append_metadata(labels_only, None, labels=("x", "y", "z"))
    assert read_model_info(labels_only) is None
    assert read_labels(labels_only) == ("x", "y", "z")


def test_malformed_metadata_is_a_model_error(tmp_path):
    path = _fake_model(tmp_path)
    bad = metadata(160)
    del bad["input"]
    append_metadata(path, bad)
    with pytest.raises(ModelLoadError, match="malformed"):
        read_model_info(path)


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        read_model_info(tmp_path / "nope.tflite")


def test_labels_keep_their_order_and_lose_only_their_own_index():
    from edge.modelfile.modelinfo import parse_labels

    imagenet_like = [f"class {i}" for i in range(1000)] + ["background"]
    assert parse_labels("\n".join(imagenet_like) + "\n\n") == tuple(imagenet_like)
    assert parse_labels("0 FRESH APPLE\n1 ROTTEN APPLE\n") == ("FRESH APPLE", "ROTTEN APPLE")
    assert parse_labels("   0  background\n  1  tench, Tinca tinca") == ("background",
                                                                         "tench, Tinca tinca")
    assert parse_labels("1 one\n2 two\n3 three") == ("one", "two", "three")
    assert parse_labels("0: zero\n1: one") == ("zero", "one")
    # Not their own index: the numbers are part of the names.
    assert parse_labels("7 up\n3 musketeers\n") == ("7 up", "3 musketeers")
    assert parse_labels("0 a\n2 b\n") == ("0 a", "2 b")
    assert parse_labels("0\n1\n2\n") == ("0", "1", "2")
    # A blank line inside would shift every later name: it stays, so the count check sees it.
    assert parse_labels("\ufeffcat\n\ndog\n") == ("cat", "", "dog")


def test_tflite_metadata_reader_survives_damaged_files(tmp_path):
    from edge.modelfile.tflite_metadata import read_tflite_metadata

    cases = {"short": b"\x10\x00", "garbage": bytes(range(256)) * 4,
             "offsets": b"\xff\xff\xff\x7fTFL3" + bytes(64)}
    for name, data in cases.items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        meta = read_tflite_metadata(path)
        assert not meta.has_metadata and meta.problem, name
