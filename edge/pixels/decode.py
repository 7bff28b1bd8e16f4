"""The one pixel pipeline: file -> upright RGB uint8 array at the model's input size.

Both `edge-classify` and export's parity check call `load_image`, so the parity report
measures exactly what runs on the device. Pixels follow the training pipeline: libjpeg ISLOW
decode (Pillow's default, TF's INTEGER_ACCURATE) and TF's half-pixel bilinear resize without
antialiasing, ported to numpy ("tf-bilinear").

Conversions to RGB, the same every time:
- grayscale, palette, CMYK, YCbCr, LAB, HSV: Pillow's conversion to RGB;
- 16-bit and 32-bit integer grayscale: the top 8 bits (`>> 8`, as tf.image.convert_image_dtype);
- alpha (RGBA, LA, PA, palette transparency): composited on white, which is what an image
  viewer shows; the colour under fully transparent pixels is arbitrary and never used.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from contextlib import nullcontext
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edge.errors import (
    CorruptImageError,
    EmptyFileError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedImageError,
    UnreadableFileError,
)
from edge.options import CROP_MODES, RESIZE_METHODS
from edge.pixels.resize import resize_bilinear_tf
from edge.run.files import register_optional_plugins, unsupported_photo

if TYPE_CHECKING:
    from edge.run.stageprofile import StageProfile

# tf-bilinear: TF's half-pixel bilinear, what pawlite models are trained on.
# asymmetric-bilinear: output pixel x samples input x * in/out (no half-pixel shift), what
#   MediaPipe Tasks' CPU preprocessing (an OpenCV warp) feeds, so foreign models get it.
# pillow-bilinear: Pillow's antialiased bilinear, for comparison in export's resize study.
# antialias: Pillow's reducing Lanczos resize, what Teachable Machine's export snippet runs
#   (ImageOps.fit with LANCZOS) on the centre square of a photo.
_PILLOW_FILTERS = {"pillow-bilinear": Image.Resampling.BILINEAR,
                   "antialias": Image.Resampling.LANCZOS}
DEFAULT_RESIZE = "tf-bilinear"
FOREIGN_RESIZE = "asymmetric-bilinear"
# "center": the largest central region with the model's aspect ratio, before resizing
# (Teachable Machine's sample code crops photos to a square this way).
# Pillow's own warning limit: larger files are treated as decompression bombs.
DEFAULT_MAX_PIXELS = 89_478_485
# JPEG draft (reduced DCT decode) only when the photo is this many times the target in both
# dimensions: normal photos decode exactly like TF, 12-megapixel ones decode at 1/8 size.
DRAFT_FACTOR = 4

_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112


def load_image(
    path: str | os.PathLike,
    size: tuple[int, int] = (160, 160),
    resize: str = DEFAULT_RESIZE,
    exif_rotate: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    crop: str = "none",
    profile: StageProfile | None = None,
) -> np.ndarray:
    """Decode `path` by content and return a uint8 array of shape (height, width, 3).

    `size` is (height, width) like `tf.image.resize`. Raises an `ImageError` subclass whose
    `kind` says what went wrong ("empty", "not-an-image", "truncated", "too-large", ...).
    `profile` times the decode and resize stages (`edge-classify --profile`).
    """
    if resize not in RESIZE_METHODS:
        raise ValueError(f"resize must be one of {RESIZE_METHODS}, not {resize!r}")
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, not {crop!r}")
    height, width = size
    register_optional_plugins()
    with profile.stage("decode") if profile else nullcontext():
        try:
            with _open_regular_file(path) as f:
                image = _open_upright_rgb(f, (height, width), exif_rotate, max_pixels)
        except OSError as e:
            raise _os_error(e) from None
        except NotAnImageError:
            fmt = unsupported_photo(path)
            if fmt is None:
                raise
            raise NotAnImageError(f"a {fmt} photo, which Pillow cannot read on this "
                                  "installation: install its plugin (pip install pillow-heif) "
                                  "or convert it to JPEG", "unsupported-format") from None
        if crop == "center" and resize == "antialias":
            # Teachable Machine's own snippet, to the pixel: ImageOps.fit crops the centre
            # with a fractional box and resizes from it in one step.
            image = ImageOps.fit(image, (width, height), _PILLOW_FILTERS[resize])
        elif crop == "center":
            image = image.crop(center_crop_box(image.size, (height, width)))
        if resize not in _PILLOW_FILTERS:
            image = np.asarray(image, dtype=np.uint8)
    with profile.stage("resize") if profile else nullcontext():
        if resize not in _PILLOW_FILTERS:
            return resize_bilinear_tf(image, (height, width), half_pixel=resize == "tf-bilinear")
        if image.size != (width, height):
            image = image.resize((width, height), _PILLOW_FILTERS[resize])
        return np.asarray(image, dtype=np.uint8)


def silence_pillow_warnings() -> None:
    """Pillow warns about what the row already says (a decompression bomb is a too-large row)
    or about metadata unused here (broken EXIF): file:line noise in a long run's stderr.
    Called by the entry points; warning filters are process-wide, so a library never sets them.
    """
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    warnings.filterwarnings("ignore", message=r"(Possibly )?[Cc]orrupt EXIF", category=UserWarning)


def _open_regular_file(path: str | os.PathLike):
    """Open for reading without ever blocking: a FIFO or device named x.jpg is an error row."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFileError("not a regular file (a pipe, socket or device)", "not-a-file")
        if st.st_size == 0:
            raise EmptyFileError("the file is empty (0 bytes)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_upright_rgb(f, size: tuple[int, int], exif_rotate: bool, max_pixels: int | None):
    try:
        image = Image.open(f)
    except UnidentifiedImageError:
        raise NotAnImageError("not an image file Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"a decompression bomb? {e}") from None
    except (SyntaxError, ValueError, EOFError) as e:
        raise CorruptImageError(f"corrupt image header: {e}") from None
    pixels = image.width * image.height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageTooLargeError(
            f"{image.width}x{image.height} = {pixels} pixels is over the limit of {max_pixels}"
            " (a decompression bomb, or a photo too large for this device)"
        )
    orientation = _orientation(image) if exif_rotate else 1
    if image.format == "JPEG":
        _maybe_draft(image, size, transposed=orientation >= 5)
    try:
        image.load()
    except (SyntaxError, ValueError, EOFError, IndexError, KeyError) as e:
        raise CorruptImageError(f"cannot decode: {e}") from None
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        image = image.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    return to_rgb(image)


def center_crop_box(image_size: tuple[int, int], size: tuple[int, int]):
    """(left, top, right, bottom) of the largest central box with the aspect of `size`
    ((height, width)); `image_size` is Pillow's (width, height)."""
    image_w, image_h = image_size
    height, width = size
    if image_w * height > image_h * width:  # wider than the target: trim the sides
        crop_w, crop_h = max(1, round(image_h * width / height)), image_h
    else:
        crop_w, crop_h = image_w, max(1, round(image_w * height / width))
    left, top = (image_w - crop_w) // 2, (image_h - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block should not make a readable photo fail
        return 1
    return value if isinstance(value, int) else 1


def _maybe_draft(image: Image.Image, size: tuple[int, int], transposed: bool) -> None:
    height, width = size
    if transposed:
        height, width = width, height
    if image.width >= DRAFT_FACTOR * width and image.height >= DRAFT_FACTOR * height:
        image.draft(None, (2 * width, 2 * height))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB by the rules in the module docstring."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    elif mode == "P":
        return image.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.int64)
        gray = np.clip(values >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2), "RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(image), nan=0.0, posinf=255.0, neginf=0.0)
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2), "RGB")
    return image.convert("RGB")


def _os_error(e: OSError) -> ImageError:
    if e.errno is None:  # Pillow's decoders raise OSError without an errno
        message = str(e)
        if "truncat" in message.lower() or "broken data stream" in message:
            return TruncatedImageError(f"truncated image data ({message})")
        return CorruptImageError(f"cannot decode the image ({message})")
    if e.errno == errno.ELOOP:
        return UnreadableFileError("symlink loop: the link points back to itself", "symlink-loop")
    if isinstance(e, FileNotFoundError):
        return UnreadableFileError("file not found (deleted, or a broken symlink)", "not-found")
    if isinstance(e, IsADirectoryError):
        return UnreadableFileError("is a directory, not a file", "not-a-file")
    if isinstance(e, PermissionError):
        return UnreadableFileError("permission denied", "unreadable")
    return UnreadableFileError(f"cannot read the file: {e.strerror or e}", "unreadable")

