"""edge.pixels.decode: the pixel pipeline shared with export's parity check."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from edge.errors import ImageError
from edge.pixels.decode import load_image, resize_bilinear_tf, to_rgb
from tests.edge_helpers import bomb_png, hostile_folder, save, solid

SIZES = [(375, 500), (37, 53), (7, 9), (160, 160), (1000, 640), (2, 3), (161, 159)]
TARGETS = [(160, 160), (16, 16), (224, 224), (33, 97)]


def test_tf_bilinear_matches_tensorflow_up_and_down():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    for h, w in SIZES:
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for size in TARGETS:
            expected = tf.image.resize(image, size, method="bilinear", antialias=False).numpy()
            got = resize_bilinear_tf(image, size)
            assert got.dtype == np.uint8 and got.shape == (*size, 3)
            assert np.abs(np.rint(expected) - got).max() <= 1, (h, w, size)


def test_load_image_matches_tensorflow_decode_and_resize(tmp_path):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    pixels = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    path = save(pixels.resize((500, 375), Image.Resampling.BICUBIC), tmp_path / "p.jpg",
                quality=90)
    decoded = tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3,
                                dct_method="INTEGER_ACCURATE")
    expected = np.rint(tf.image.resize(decoded, (160, 160), "bilinear").numpy())
    got = load_image(path)
    assert np.abs(expected - got).max() <= 1


def test_same_size_is_unchanged_and_pillow_option_works(tmp_path):
    path = save(solid((10, 200, 30), (160, 160)), tmp_path / "a.png")
    assert (load_image(path) == [10, 200, 30]).all()
    small = load_image(path, size=(20, 30), resize="pillow-bilinear")
    assert small.shape == (20, 30, 3) and (small == [10, 200, 30]).all()
    with pytest.raises(ValueError):
        load_image(path, resize="nearest")


def _marked(width=40, height=30) -> Image.Image:
    """Upright reference: white, with a red block top-left and a blue block bottom-right."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    image.paste((0, 0, 255), (width // 2, height // 2, width, height))
    return image


# The transform that, applied to the stored pixels, gives the upright image (EXIF spec).
_UPRIGHT = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STORED = {  # inverse of _UPRIGHT
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["png", "big-jpeg"])
def test_exif_orientations_give_the_upright_image(tmp_path, orientation, kind):
    scale = 1 if kind == "png" else 20  # 800x600: >= 4x the target, so JPEG draft is used
    upright = _marked(40 * scale, 30 * scale)
    stored = upright if orientation == 1 else upright.transpose(_STORED[orientation])
    assert (stored.transpose(_UPRIGHT[orientation]) if orientation > 1 else stored) == upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / ("x.png" if kind == "png" else "x.jpg")
    stored.save(path, exif=exif, **({"quality": 95} if kind == "big-jpeg" else {}))
    got = load_image(path, size=(30, 40)).astype(int)
    assert np.abs(got[3, 3] - [255, 0, 0]).max() < 40  # red top-left
    assert np.abs(got[-4, -4] - [0, 0, 255]).max() < 40  # blue bottom-right
    assert np.abs(got[3, -4] - [255, 255, 255]).max() < 40  # white top-right
    if orientation in (5, 6, 7, 8):
        raw = load_image(path, size=(40, 30), exif_rotate=False)
        assert raw.shape == (40, 30, 3)


def test_jpeg_draft_only_when_four_times_larger(tmp_path, monkeypatch):
    calls = []
    original = JpegImageFile.draft

    def spy(self, mode, size):
        calls.append(size)
        return original(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    normal = save(solid((200, 0, 0), (500, 375)), tmp_path / "normal.jpg")
    big = save(solid((200, 0, 0), (1600, 1200)), tmp_path / "big.jpg")
    load_image(normal)
    assert calls == []
    got = load_image(big)
    assert len(calls) == 1 and got.shape == (160, 160, 3)
    assert np.abs(got.astype(int) - [200, 0, 0]).max() <= 3


def test_modes_convert_to_rgb_consistently(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 4, 8))
    sixteen = Image.fromarray(np.full((8, 8), 0x8000, np.uint16))
    palette = solid((0, 255, 0), (8, 8)).convert("P")
    transparent_palette = palette.copy()
    transparent_palette.info["transparency"] = palette.getpixel((0, 0))
    cases = {
        "gray.png": (Image.new("L", (8, 8), 77), [77, 77, 77]),
        "bits.png": (Image.new("1", (8, 8), 1), [255, 255, 255]),
        "palette.gif": (palette, [0, 255, 0]),
        "alpha.png": (rgba, None),
        "gray-alpha.png": (Image.new("LA", (8, 8), (0, 0)), [255, 255, 255]),
        "sixteen.png": (sixteen, [128, 128, 128]),
        "cmyk.jpg": (Image.new("CMYK", (8, 8), (0, 0, 0, 0)), [255, 255, 255]),
        "plain.bmp": (solid((1, 2, 3), (8, 8)), [1, 2, 3]),
        "plain.tiff": (solid((4, 5, 6), (8, 8)), [4, 5, 6]),
        "lossless.webp": (solid((7, 8, 9), (8, 8)), [7, 8, 9]),
    }
    for name, (image, color) in cases.items():
        kwargs = {"lossless": True} if name.endswith("webp") else {}
        path = save(image, tmp_path / name, **kwargs)
        got = load_image(path, size=(8, 8))
        assert got.shape == (8, 8, 3) and got.dtype == np.uint8, name
        if color is not None:
            assert np.abs(got.astype(int) - color).max() <= 2, (name, got[0, 0])
    alpha = load_image(tmp_path / "alpha.png", size=(8, 8))
    assert (alpha[:, :4] == [0, 0, 255]).all() and (alpha[:, 4:] == [255, 255, 255]).all()
    assert (np.asarray(to_rgb(transparent_palette)) == 255).all()


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [solid((255, 0, 0), (8, 8)), solid((0, 0, 255), (8, 8))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert load_image(path, size=(8, 8))[0, 0, 0] > 200


def test_decided_by_content_not_extension(tmp_path):
    path = save(solid((9, 9, 200)), tmp_path / "actually-a-png.jpg", format="PNG")
    assert (load_image(path, size=(4, 4)) == [9, 9, 200]).all()


def test_hostile_files_raise_image_errors_with_kinds(tmp_path):
    expected = hostile_folder(tmp_path)
    for name, kind in expected.items():
        if kind in ("cats", "dogs"):
            load_image(tmp_path / name)
            continue
        with pytest.raises(ImageError) as info:
            load_image(tmp_path / name)
        assert info.value.kind == kind, name
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "missing.jpg")
    assert info.value.kind == "not-found"
    with pytest.raises(ImageError) as info:
        load_image(tmp_path)
    assert info.value.kind == "not-a-file"
    os.mkfifo(tmp_path / "pipe.jpg")
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "pipe.jpg")  # must not block waiting for a writer
    assert info.value.kind == "not-a-file"


def test_pixel_limit_is_a_parameter(tmp_path):
    path = save(solid((0, 0, 0), (100, 100)), tmp_path / "a.png")
    with pytest.raises(ImageError) as info:
        load_image(path, max_pixels=9_999)
    assert info.value.kind == "too-large"
    load_image(path, max_pixels=None)
    with pytest.raises(ImageError):
        load_image(bomb_png(tmp_path / "b.png", 20_000, 20_000))
