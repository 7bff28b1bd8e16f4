"""`python -m edge.describe`: writing a foreign model's labels and normalization into it needs
no TensorFlow, so it runs on the base install that the float-model error message speaks to."""

from __future__ import annotations

import subprocess
import sys

from edge.classifier import Classifier
from edge.modelfile.modelspec import NORMALIZATION_HINT
from edge.modelfile.tflite_metadata import read_tflite_metadata
from tests.cli_helpers import ROOT
from tests.edge_helpers import MODELS

BARE = MODELS / "float32-16-probabilities.tflite"
# Any attempt to import TensorFlow (or Keras) fails, as on a device.
WITHOUT_TF = ("import runpy, sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None; "
              "sys.argv = ['edge.describe', *sys.argv[1:]]; "
              "runpy.run_module('edge.describe', run_name='__main__', alter_sys=True)")


def _describe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_TF, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_float_model_error_names_this_command():
    assert "python -m edge.describe" in NORMALIZATION_HINT
    done = _describe("--help")
    assert done.returncode == 0 and "--mean" in done.stdout, done.stderr


def test_describe_writes_labels_and_normalization_without_tensorflow(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\n")
    out = tmp_path / "described.tflite"
    done = _describe(BARE, "--labels", labels, "--mean", "0", "--std", "255", "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}; edge now reads it as:")
    assert "TFLite Metadata NormalizationOptions" in done.stdout
    described = Classifier(out)  # no flags needed any more
    assert list(described.class_names) == ["red", "green"]
    assert (described.spec.input.mean, described.spec.input.std) == ((0.0,), (255.0,))
    meta = read_tflite_metadata(out)  # the standard layout, as MediaPipe reads it
    assert meta.has_metadata and meta.name == BARE.stem and meta.color_space == "RGB"
    assert (meta.normalization.mean, meta.normalization.std) == ((0.0,), (255.0,))
    assert [f.name for f in meta.label_files] == ["labels.txt"]
    assert BARE.read_bytes() != out.read_bytes()


def test_describe_errors_are_one_line_and_never_replace_the_model(tmp_path):
    copy = tmp_path / "m.tflite"
    copy.write_bytes(BARE.read_bytes())
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\n")
    done = _describe(copy, "--labels", labels, "--mean", "0", "--std", "255", "-o", copy)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "new file" in done.stderr
    assert "Traceback" not in done.stderr and copy.read_bytes() == BARE.read_bytes()
    done = _describe(copy, "-o", tmp_path / "out.tflite")
    assert done.returncode == 3 and "class names" in done.stderr, done.stderr
