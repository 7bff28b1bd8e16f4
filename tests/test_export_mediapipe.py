"""MediaPipe Tasks' ImageClassifier reads the exported int8 model's standard metadata.

MediaPipe is not a pawlite dependency and may not share a venv with TensorFlow, so it runs in a
subprocess: this interpreter when it has mediapipe, else the one named by
PAWLITE_MEDIAPIPE_PYTHON (e.g. a throwaway venv: `python3 -m venv /tmp/mpvenv &&
/tmp/mpvenv/bin/pip install mediapipe`, then PAWLITE_MEDIAPIPE_PYTHON=/tmp/mpvenv/bin/python).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess

import numpy as np
import pytest

from tests.export_helpers import IMAGE_SIZE, make_tiny_artifacts
from tests.mediapipe_helpers import mediapipe_python

CLASSIFY = """
import json, sys
import numpy as np
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

options = vision.ImageClassifierOptions(
    base_options=BaseOptions(model_asset_path=sys.argv[1]), max_results=-1)
pixels = np.load(sys.argv[2])
with vision.ImageClassifier.create_from_options(options) as classifier:
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels)
    categories = classifier.classify(image).classifications[0].categories
print(json.dumps({c.category_name: c.score for c in categories}))
"""


def test_mediapipe_image_classifier_reports_the_class_names(tmp_path):
    python = mediapipe_python()
    if python is None:
        pytest.skip("mediapipe is not importable here and PAWLITE_MEDIAPIPE_PYTHON is not set "
                    "(pip install mediapipe into a separate venv and point it there)")
    from edge.classifier import Classifier
    from export.converter import export_models

    config = make_tiny_artifacts(tmp_path)
    (model,) = export_models(dataclasses.replace(config, quantization="int8"))
    pixels = np.random.default_rng(3).integers(0, 256, (*IMAGE_SIZE, 3), dtype=np.uint8)
    np.save(tmp_path / "pixels.npy", pixels)
    result = subprocess.run(
        [python, "-c", CLASSIFY, str(model.path), str(tmp_path / "pixels.npy")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(scores) == {"cats", "dogs"}
    expected = Classifier(model_path=model.path).predict(pixels[None])[0]
    np.testing.assert_allclose([scores["cats"], scores["dogs"]], expected, atol=0.02)
