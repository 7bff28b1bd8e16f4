"""`python -m export describe`: a bare foreign model gets standard metadata and runs flag-free."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.classifier import Classifier
from export.cli import app
from tests import foreign_models as fm


def test_describe_writes_labels_and_normalization_edge_then_reads(tmp_path):
    bare = fm.build("float32", mean=(0.0,), std=(255.0,), metadata=False)
    labels = tmp_path / "labels.txt"
    labels.write_text("0 red\n1 green\n2 blue\n")
    out = tmp_path / "described.tflite"
    run = CliRunner().invoke(app, ["describe", str(bare.path), "--labels", str(labels),
                                   "--mean", "0", "--std", "255", "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "TFLite Metadata NormalizationOptions" in run.output
    clf = Classifier(out)
    assert clf.class_names == fm.NAMES
    assert clf.spec.input.mean == (0.0,) and clf.spec.input.std == (255.0,)
    batch = fm.colour_batch()
    np.testing.assert_allclose(clf.predict(batch), bare.expected(batch), atol=1e-5)


def test_describe_derives_a_quantized_input_normalization(tmp_path):
    from export.metadata import read_model_metadata

    bare = fm.build("uint8", mean=(127.5,), std=(127.5,), metadata=False)
    out = tmp_path / "q.tflite"
    run = CliRunner().invoke(app, ["describe", str(bare.path), "--labels", "/dev/null",
                                   "-o", str(out)])
    assert run.exit_code == 1 and "class names" in run.output
    labels = tmp_path / "l.txt"
    labels.write_text("red\ngreen\nblue\n")
    run = CliRunner().invoke(app, ["describe", str(bare.path), "--labels", str(labels),
                                   "-o", str(out)])
    assert run.exit_code == 0, run.output
    (inp,) = read_model_metadata(out.read_bytes())["inputs"]
    scale, zero_point = Classifier(bare.path, labels=labels)._input["quantization"]
    assert inp["normalization"]["mean"] == pytest.approx([zero_point])
    assert inp["normalization"]["std"] == pytest.approx([1 / scale], rel=1e-5)


def test_describe_refuses_to_overwrite_its_input(tmp_path):
    bare = fm.build("float32", metadata=False)
    copy = tmp_path / "m.tflite"
    copy.write_bytes(bare.path.read_bytes())
    run = CliRunner().invoke(app, ["describe", str(copy), "--labels", "/dev/null",
                                   "-o", str(copy)])
    assert run.exit_code == 1 and "new file" in run.output
    assert copy.read_bytes() == bare.path.read_bytes()


def _bare_copy(tmp_path):
    from tests.edge_helpers import MODELS

    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "float32-16-probabilities.tflite").read_bytes())
    labels = tmp_path / "labels.txt"
    labels.write_text("cats\ndogs\n")
    return model, labels


@pytest.mark.parametrize("target", ["hard link", "labels"])
def test_describe_refuses_a_hard_link_to_its_input_or_the_labels(tmp_path, target):
    model, labels = _bare_copy(tmp_path)
    before = model.read_bytes(), labels.read_bytes()
    out = labels
    if target == "hard link":
        out = tmp_path / "alias.tflite"
        out.hardlink_to(model)
    run = CliRunner().invoke(app, ["describe", str(model), "--labels", str(labels), "--mean",
                                   "0", "--std", "1", "-o", str(out)])
    assert run.exit_code == 1 and "new file" in run.output, run.output
    assert (model.read_bytes(), labels.read_bytes()) == before


def test_describe_into_an_existing_folder_is_an_error_not_a_traceback(tmp_path):
    model, labels = _bare_copy(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    run = CliRunner().invoke(app, ["describe", str(model), "--labels", str(labels), "--mean",
                                   "0", "--std", "1", "-o", str(folder)])
    assert run.exit_code == 1 and "is a folder" in run.output
    assert run.exception is None or isinstance(run.exception, SystemExit)
