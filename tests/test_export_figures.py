"""The parity report's pictures: confusion counts, contact sheets of known mistakes, and the
files write_figures leaves beside parity.md. Small generated images; no TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from export.contact_sheet import PAD, WRONG, Tile, contact_sheet
from export.figures import Evaluated, tile, write_figures
from export.report import confusion_matrix
from tests.imagegen import write_image

COLOURS = [(230, 30, 30), (30, 30, 230), (30, 200, 30), (230, 200, 30), (150, 30, 150),
           (30, 200, 200)]


def test_confusion_matrix_counts_and_leaves_unreadable_images_out():
    labels = np.array([0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, -1, 1, 1, 0, 2])
    assert confusion_matrix(labels, predicted, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def _solid(colour, size=20):
    return np.full((size, size, 3), colour, np.uint8)


def _has_colour(region: Image.Image, rgb, tolerance=70) -> bool:
    pixels = np.asarray(region, int).reshape(-1, 3)
    return bool((np.abs(pixels - rgb).sum(axis=1) < tolerance).any())


def test_contact_sheet_draws_one_captioned_tile_per_mistake(tmp_path):
    tiles = [Tile(_solid(c), (("true: cats", (0, 0, 0)), ("int8: dogs 93%", WRONG)))
             for c in COLOURS[:5]]
    layout = contact_sheet(tiles, tmp_path / "sheet.png", "5 mistakes", thumb=40, columns=3)
    sheet = Image.open(tmp_path / "sheet.png").convert("RGB")
    assert sheet.size == layout.size
    assert len(layout.thumbnails) == len(layout.captions) == 5
    columns = {box[0] for box in layout.thumbnails}
    rows = {box[1] for box in layout.thumbnails}
    assert (len(columns), len(rows)) == (3, 2)
    for box, caption, colour in zip(layout.thumbnails, layout.captions, COLOURS, strict=False):
        x, y = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        assert sheet.getpixel((x, y)) == colour
        assert _has_colour(sheet.crop(caption), WRONG)        # the red wrong answer
        assert _has_colour(sheet.crop(caption), (0, 0, 0))    # the black truth
    # The sixth slot of the second row stays empty.
    x0 = max(columns)
    empty = sheet.crop((x0, max(rows), x0 + 40, sheet.size[1]))
    assert np.asarray(empty).min() == 255
    assert sheet.size[1] == max(rows) + 40 + 2 * 15 + 2 * PAD


def _evaluated(tmp_path: Path) -> Evaluated:
    """Six images; Keras wrong on 1 and 4, int8 wrong on 2 and 4; image 5 is in the test split."""
    paths = [write_image(tmp_path / f"img{i}.png", (24, 24), c, seed=i, fmt="PNG")
             for i, c in enumerate(COLOURS)]
    labels = np.array([0, 1, 0, 1, 0, 1])
    right, wrong = {0: [0.9, 0.1], 1: [0.2, 0.8]}, {0: [0.3, 0.7], 1: [0.6, 0.4]}
    keras = np.array([(wrong if i in (1, 4) else right)[y] for i, y in enumerate(labels)])
    int8 = np.array([(wrong if i in (2, 4) else right)[y] for i, y in enumerate(labels)])
    return Evaluated("int8", paths, labels, 1, ("cats", "dogs"), keras, int8,
                     lambda p: np.asarray(Image.open(p).convert("RGB")))


def test_write_figures_puts_every_mistake_and_every_disagreement_on_a_sheet(tmp_path):
    ev = _evaluated(tmp_path)
    figures = write_figures(ev, tmp_path / "report")
    files = figures["files"]
    assert figures["counts"] == {"errors": 3, "disagreements": 2}
    for name in files.values():
        assert (tmp_path / "report" / name).is_file()
    # One row of three 128-pixel tiles (four caption lines) under the title.
    errors = Image.open(tmp_path / "report" / files["errors"])
    assert errors.size == (480, 16 + 2 * PAD + 128 + 4 * 15 + 2 * PAD)
    assert figures["reliability"]["keras"]["n"] == 6
    assert figures["reliability"]["set"] == "validation_folder"


def test_a_tile_says_truth_both_answers_and_where_the_image_is(tmp_path):
    ev = _evaluated(tmp_path)
    lines = [text for text, _ in tile(ev, 4).lines]
    assert lines == ["true: cats", "int8: dogs 70%", "Keras: dogs 70%", "img4.png"]
    assert tile(ev, 5).lines[-1][0] == "img5.png [test]"
    assert tile(ev, 2).lines[1][1] == WRONG and tile(ev, 1).lines[1][1] != WRONG


def test_no_disagreement_means_no_sheet_and_says_so(tmp_path):
    ev = _evaluated(tmp_path)
    same = Evaluated(ev.variant, ev.paths, ev.labels, ev.n_test, ev.class_names, ev.keras,
                     ev.keras.copy(), ev.load)
    write_figures(ev, tmp_path / "report")
    figures = write_figures(same, tmp_path / "report")
    assert figures["files"]["disagreements"] is None
    assert not (tmp_path / "report" / "disagreements_int8.jpg").exists()
    assert figures["counts"]["disagreements"] == 0
