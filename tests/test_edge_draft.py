"""JPEG draft decoding (a 1/2-1/8 size DCT decode for photos far larger than the model input)
may not change answers beyond the parity budget: the test split, upscaled to 12-megapixel
photos, against the full-resolution decode of the same files.

Measured (bundled model, 192 images): 190 same labels (98.96%), max |dp| 0.19, accuracy 98.4%
drafted vs 97.4% full; drafting to 4x the input instead of 2x gave 191 (99.5%). No draft size
gives literally identical labels: the full decode of a 12-MP photo, resized without
antialiasing, is an aliased sample of it, and borderline images flip either way.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge.classifier import BUNDLED_MODEL, Classifier
from edge.pixels.resize import resize_bilinear_tf
from train.split import Split

ROOT = Path(__file__).resolve().parents[1]
PIXELS = 12_000_000  # a 12-megapixel phone photo: 4000 x 3000 at 4:3


def make_large(path: Path, folder: Path) -> Path:
    """`path` upscaled (bicubic) to a 12-megapixel JPEG, as a phone would save it."""
    with Image.open(path) as image:
        scale = (PIXELS / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        large = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    out = folder / (path.stem + ".jpg")
    large.save(out, quality=92)
    return out


def draft_and_full(path: Path, folder: Path, clf: Classifier) -> tuple[np.ndarray, np.ndarray]:
    """Model input of the large version of `path`, with and without draft decoding."""
    large = make_large(path, folder)
    try:
        with Image.open(large) as image:
            assert image.width * image.height >= 0.99 * PIXELS
        drafted = clf.load(large)
        with Image.open(large) as image:  # load_image without the draft
            full = resize_bilinear_tf(np.asarray(image.convert("RGB")), clf.input_size)
    finally:
        large.unlink()
    return drafted, full


def compare(paths: list[Path], folder: Path) -> dict:
    """Labels and probabilities of the draft and full decodes of every large photo."""
    clf = Classifier()
    with ThreadPoolExecutor(2) as pool:
        pairs = list(pool.map(lambda p: draft_and_full(p, folder, clf), paths))
    drafted = clf.predict(np.stack([d for d, _ in pairs]))
    full = clf.predict(np.stack([f for _, f in pairs]))
    return {
        "images": len(paths),
        "same_label": int((drafted.argmax(1) == full.argmax(1)).sum()),
        "max_probability_diff": float(np.abs(drafted - full).max()),
        "draft_labels": drafted.argmax(1),
        "full_labels": full.argmax(1),
    }


@pytest.mark.slow
@pytest.mark.realdata
def test_draft_decoding_keeps_the_test_split_labels_within_the_parity_budget(real_split,
                                                                            tmp_path):
    thresholds = json.loads((BUNDLED_MODEL.parent / "parity.json").read_text())["thresholds"]
    split = Split.load(ROOT / "results" / "split.json", data_root=real_split.data_root)
    found = compare(split.paths("test"), tmp_path)
    assert found["images"] == 192
    assert found["same_label"] / found["images"] >= thresholds["min_agreement"], found
    truth = np.array(split.labels("test"))
    drop = ((found["full_labels"] == truth).mean() - (found["draft_labels"] == truth).mean())
    assert 100 * drop <= thresholds["max_accuracy_drop_points"], found

