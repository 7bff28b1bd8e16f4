"""edge runs third-party TFLite classifiers as their own runtimes do.

The references: MediaPipe Tasks' ImageClassifier (it reads TFLite Metadata; CI installs it in
its own venv), the known answers of ../shared/foreign/README.md, and, for the small models
built here in other exporters' conventions, the Keras model on the input it was trained for.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from typer.testing import CliRunner

from edge.classifier import Classifier
from edge.cli import app
from edge.errors import ModelLoadError
from edge.pixels.decode import to_rgb
from tests import foreign_models as fm
from tests.conftest import SHARED
from tests.mediapipe_helpers import mediapipe_python

FOREIGN = SHARED / "foreign"
MODELS = sorted((FOREIGN / "models").glob("*.tflite"))
IMAGES = sorted((FOREIGN / "images").glob("*"))
INDEXED_LABELS = FOREIGN / "models" / "imagenet_labels.indexed.txt"
CONFIDENT = 0.5
# Measured: float models within 0.008 of MediaPipe, uint8 ones within 0.055 (a few output
# steps of 1/256: MediaPipe feeds the unrounded resize, edge rounds it to uint8 pixels).
MAX_PROB_DIFF = {"float32": 0.02, "uint8": 0.08, "int8": 0.08}

needs_foreign = pytest.mark.skipif(not MODELS, reason=f"no third-party models in {FOREIGN}")

MEDIAPIPE_BATCH = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

jobs = json.load(open(sys.argv[1]))
out = {}
for model in jobs["models"]:
    options = vision.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=model), max_results=-1)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        out[model] = {}
        for name, npy in jobs["images"].items():
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.load(npy))
            categories = classifier.classify(image).classifications[0].categories
            out[model][name] = [[c.index, c.score] for c in categories]
print(json.dumps(out))
"""


def mediapipe_scores(models, images: dict[str, np.ndarray], tmp_path: Path) -> dict:
    """{model: {image name: scores by output index}} from MediaPipe Tasks, in a subprocess."""
    python = mediapipe_python()
    if python is None:
        pytest.skip("mediapipe is not importable here and PAWLITE_MEDIAPIPE_PYTHON is not set")
    files = {}
    for name, pixels in images.items():
        files[name] = str(tmp_path / f"{name}.npy")
        np.save(files[name], np.ascontiguousarray(pixels))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"models": [str(m) for m in models], "images": files}))
    run = subprocess.run([python, "-c", MEDIAPIPE_BATCH, str(jobs)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    raw = json.loads(run.stdout.strip().splitlines()[-1])
    scores = {}
    for model, rows in raw.items():
        scores[model] = {}
        for name, pairs in rows.items():
            vector = np.zeros(max(i for i, _ in pairs) + 1, np.float32)
            for index, score in pairs:
                vector[index] = score
            scores[model][name] = vector
    return scores


def full_resolution(path: Path) -> np.ndarray:
    """The upright RGB pixels edge decodes (before resizing), for MediaPipe to resize itself."""
    with Image.open(path) as image:
        return np.asarray(to_rgb(ImageOps.exif_transpose(image)))


def _labels_for(model: Path):
    return INDEXED_LABELS if "nometadata" in model.name else None


@needs_foreign
def test_every_shared_model_agrees_with_mediapipe(tmp_path):
    images = {p.name: full_resolution(p) for p in IMAGES}
    reference = mediapipe_scores(MODELS, images, tmp_path)
    report = []
    for model in MODELS:
        clf = Classifier(model, labels=_labels_for(model))
        results = {Path(r.path).name: r for r in clf.classify_paths(IMAGES)}
        for name, theirs in reference[str(model)].items():
            ours = np.asarray(results[name].probabilities)
            assert ours.shape == theirs.shape, (model.name, name)
            diff = float(np.abs(ours - theirs).max())
            report.append((model.name, name, int(ours.argmax()), int(theirs.argmax()), diff))
            if theirs.max() >= CONFIDENT:
                assert ours.argmax() == theirs.argmax(), report[-1]
            assert diff <= MAX_PROB_DIFF[clf.spec.input.dtype], report[-1]
    agreement = np.mean([ours == theirs for _, _, ours, theirs, _ in report])
    assert agreement >= 0.9, report


@needs_foreign
def test_quantized_mobilenet_v1_calls_the_burger_a_cheeseburger():
    model = FOREIGN / "models" / "mobilenet_v1_0.25_224_quant.tflite"
    run = CliRunner().invoke(app, ["--model", str(model), "-o", "-", "--format", "jsonl", "-q",
                                   str(FOREIGN / "images" / "burger.jpg")])
    assert run.exit_code == 0, run.output
    row = json.loads(run.stdout.strip().splitlines()[-1])
    assert row["label"] == "cheeseburger"
    assert row["confidence"] == pytest.approx(0.96, abs=0.02)


@needs_foreign
def test_coral_model_finds_its_labels_under_their_own_name():
    model = FOREIGN / "models" / "mobilenet_v2_1.0_224_quant.tflite"
    clf = Classifier(model)
    assert clf.spec.labels_source.startswith("imagenet_labels.txt")
    assert clf.class_names[0] == "background" and len(clf.class_names) == 1001
    (result,) = clf.classify_paths([FOREIGN / "images" / "parrot.jpg"])
    assert result.label == "macaw" and result.confidence > 0.9


@needs_foreign
def test_indexed_label_files_lose_their_index():
    plain = Classifier(FOREIGN / "models" / "mobilenet_v2_1.0_224_quant.nometadata.tflite",
                       labels=FOREIGN / "models" / "imagenet_labels.txt")
    indexed = Classifier(FOREIGN / "models" / "mobilenet_v2_1.0_224_quant.nometadata.tflite",
                         labels=INDEXED_LABELS)
    assert indexed.class_names == plain.class_names
    assert indexed.class_names[1] == "tench, Tinca tinca"


@needs_foreign
def test_a_bare_model_without_labels_is_an_exit_3_naming_the_option():
    model = FOREIGN / "models" / "mobilenet_v2_1.0_224_quant.nometadata.tflite"
    run = CliRunner().invoke(app, ["--model", str(model), str(FOREIGN / "images" / "owl.jpg")])
    assert run.exit_code == 3
    assert "--labels" in run.output


@needs_foreign
def test_info_says_what_edge_reads_and_where_from():
    model = FOREIGN / "models" / "mobilenet_v1_0.25_224_1_metadata_1.tflite"
    run = CliRunner().invoke(app, ["--info", "--model", str(model)])
    assert run.exit_code == 0, run.output
    assert "1x224x224x3 float32" in run.stdout
    assert "(pixel - 127.5) / 127.5" in run.stdout
    assert "TFLite Metadata NormalizationOptions" in run.stdout
    assert "1001 from labels.txt (TENSOR_AXIS_LABELS" in run.stdout
    assert "the graph ends in SOFTMAX" in run.stdout
    assert "runtime" in run.stdout


# ---- models built here in other exporters' conventions ----

def _check_against_keras(model: fm.ForeignModel, atol: float, **options) -> Classifier:
    clf = Classifier(model.path, **options)
    batch = fm.colour_batch()
    got = clf.predict(batch)
    expected = model.expected(batch)
    np.testing.assert_allclose(got, expected, atol=atol)
    assert (got.argmax(1) == np.arange(len(batch)) % 3).all()
    assert clf.class_names == fm.NAMES
    return clf


def test_float_model_for_unit_range_gets_pixels_over_255():
    model = fm.build("float32", mean=(0.0,), std=(255.0,))
    clf = _check_against_keras(model, 1e-5)
    assert clf.spec.input.normalization_source == "TFLite Metadata NormalizationOptions"
    assert clf.spec.labels_source.startswith("colours.txt")


def test_float_model_with_per_channel_normalization():
    model = fm.build("float32", mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
    clf = _check_against_keras(model, 1e-5)
    assert clf.spec.input.mean == pytest.approx((123.675, 116.28, 103.53))


def test_int8_input_gets_pixels_minus_128():
    clf = _check_against_keras(fm.build("int8"), 0.05)
    assert clf.spec.input.dtype == "int8"


def test_uint8_input_ignores_metadata_that_disagrees_with_its_quantization():
    # Trained on [0, 1] (scale 1/255), metadata wrongly claiming [-1, 1]: MediaPipe and pycoral
    # feed raw pixels to a uint8 input whatever the metadata says, and so does edge.
    model = fm.build("uint8", mean=(0.0,), std=(255.0,), metadata_mean=(127.5,),
                     metadata_std=(127.5,))
    clf = _check_against_keras(model, 0.05)
    assert clf.spec.input.scale == pytest.approx(1 / 255, rel=0.05)


@pytest.mark.parametrize("input_type", ["float32", "uint8"])
def test_channels_first_models_get_channels_first_input(input_type):
    model = fm.build(input_type, mean=(0.0,), std=(255.0,), channels_first=True)
    clf = _check_against_keras(model, 1e-5 if input_type == "float32" else 0.05)
    assert clf.spec.input.layout == "NCHW" and clf.input_size == (fm.SIZE, fm.SIZE)


def test_logits_output_is_softmaxed_into_a_confidence():
    model = fm.build("float32", logits=True)
    clf = _check_against_keras(model, 1e-5)
    assert clf.output_kind == "logits" and "not SOFTMAX" in clf.spec.output_source
    assert fm.build("float32").path != model.path
    assert Classifier(fm.build("float32").path).output_kind == "probabilities"


def test_generated_models_agree_with_mediapipe(tmp_path):
    # MediaPipe refuses per-channel normalization ("not available") and int8 inputs ("type
    # mismatch"); Keras is the reference for those. It reports logits as they are.
    models = [fm.build("float32", mean=(0.0,), std=(255.0,)),
              fm.build("float32", logits=True),
              fm.build("uint8", mean=(0.0,), std=(255.0,))]
    rng = np.random.default_rng(5)
    images = {}
    for i in range(6):
        pixels = rng.integers(0, 110, (48, 40, 3)).astype(np.uint8)
        pixels[..., i % 3] = rng.integers(160, 256)
        images[f"img{i}"] = pixels
    reference = mediapipe_scores([m.path for m in models], images, tmp_path)
    for model in models:
        clf = Classifier(model.path)
        for name, pixels in images.items():
            ours = clf.predict(clf_input(clf, pixels, tmp_path / f"{name}.png"))[0]
            theirs = reference[str(model.path)][name]
            assert ours.argmax() == theirs.argmax() == int(name[-1]) % 3
            if clf.output_kind == "logits":
                theirs = np.exp(theirs) / np.exp(theirs).sum()
            assert np.abs(ours - theirs).max() <= MAX_PROB_DIFF[clf.spec.input.dtype]


def clf_input(clf: Classifier, pixels: np.ndarray, path: Path) -> np.ndarray:
    Image.fromarray(pixels).save(path)
    return clf.load(path)[None]


def test_float_model_without_metadata_is_refused_until_told(tmp_path):
    model = fm.build("float32", mean=(0.0,), std=(255.0,), metadata=False)
    labels = tmp_path / "labels.txt"
    labels.write_text("0 red\n1 green\n2 blue\n")
    image = tmp_path / "green.png"
    Image.fromarray(np.full((20, 20, 3), (10, 240, 10), np.uint8)).save(image)
    runner = CliRunner()
    refused = runner.invoke(app, ["--model", str(model.path), "--labels", str(labels),
                                  str(image)])
    assert refused.exit_code == 3
    assert "--mean 0 --std 255" in refused.output and "--mean 127.5 --std 127.5" in refused.output
    told = runner.invoke(app, ["--model", str(model.path), "--labels", str(labels), "--mean", "0",
                               "--std", "255", "-o", "-", "--format", "jsonl", "-q", str(image)])
    assert told.exit_code == 0, told.output
    row = json.loads(told.stdout.strip().splitlines()[-1])
    assert row["label"] == "green" and row["confidence"] > 0.9
    with pytest.raises(ModelLoadError, match="NormalizationOptions"):
        Classifier(model.path, labels=labels)


def test_mean_and_std_are_refused_for_a_quantized_input():
    with pytest.raises(ValueError, match="float models only"):
        Classifier(fm.build("uint8", mean=(0.0,), std=(255.0,)).path, mean=0, std=255)


def test_bad_mean_and_std_values_are_usage_errors(tmp_path):
    model = fm.build("float32", metadata=False)
    for args in (["--mean", "1,2"], ["--mean", "x", "--std", "1"], ["--mean", "0"],
                 ["--mean", "0", "--std", "0"]):
        run = CliRunner().invoke(app, ["--model", str(model.path), *args, str(tmp_path)])
        assert run.exit_code == 2, (args, run.output)


def test_center_crop_keeps_the_middle_square(tmp_path):
    model = fm.build("float32", mean=(0.0,), std=(255.0,))
    pixels = np.zeros((32, 96, 3), np.uint8)
    pixels[:, :32] = (250, 0, 0)      # red left third
    pixels[:, 32:64] = (0, 0, 250)    # blue middle: the square a center crop keeps
    pixels[:, 64:] = (250, 0, 0)
    path = tmp_path / "wide.png"
    Image.fromarray(pixels).save(path)
    (whole,) = Classifier(model.path).classify_paths([path])
    (cropped,) = Classifier(model.path, crop="center").classify_paths([path])
    assert whole.label == "red" and cropped.label == "blue"


def test_resume_refuses_rows_made_with_other_model_settings(tmp_path):
    model = fm.build("float32", mean=(0.0,), std=(255.0,))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, colour in enumerate([(240, 10, 10), (10, 240, 10)]):
        Image.fromarray(np.full((20, 20, 3), colour, np.uint8)).save(photos / f"{i}.png")
    out = tmp_path / "rows.csv"
    runner = CliRunner()
    first = runner.invoke(app, ["--model", str(model.path), "-o", str(out), "-q", str(photos)])
    assert first.exit_code == 0, first.output
    other = runner.invoke(app, ["--model", str(model.path), "-o", str(out), "--resume", "-q",
                                "--crop", "center", str(photos)])
    assert other.exit_code == 2 and "other settings" in other.output
    same = runner.invoke(app, ["--model", str(model.path), "-o", str(out), "--resume", "-q",
                               str(photos)])
    assert same.exit_code == 0, same.output
