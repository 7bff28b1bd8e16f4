"""A contact sheet: many images as captioned thumbnails in one picture, read in seconds.

Used for the images a model gets wrong and the ones int8 answers differently from Keras; each
caption says what the truth was and what each model said, coloured right or wrong, so the
sheet needs no legend beyond its title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RIGHT, WRONG, PLAIN, NOTE = (0, 110, 0), (200, 0, 0), (0, 0, 0), (110, 110, 110)
BACKGROUND = (255, 255, 255)
PAD, LINE, FONT_SIZE, TITLE_SIZE = 6, 15, 12, 16


@dataclass(frozen=True)
class Tile:
    """One image and its caption lines, each `(text, rgb colour)`."""

    image: np.ndarray
    lines: tuple[tuple[str, tuple[int, int, int]], ...]


@dataclass(frozen=True)
class Layout:
    """Where each tile's thumbnail and caption were drawn, (left, top, right, bottom)."""

    size: tuple[int, int]
    thumbnails: list[tuple[int, int, int, int]]
    captions: list[tuple[int, int, int, int]]


def contact_sheet(tiles: list[Tile], path: Path, title: str, thumb: int = 128,
                  columns: int = 8) -> Layout:
    """Draw `tiles` in rows of `columns` (fewer when there are fewer tiles) under `title`.

    The file type follows `path`'s suffix (JPEG keeps sheets of photos small).
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=FONT_SIZE)
    title_font = ImageFont.load_default(size=TITLE_SIZE)
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    lines = max((len(t.lines) for t in tiles), default=0)
    cell_w, cell_h = thumb + PAD, thumb + lines * LINE + 2 * PAD
    top = TITLE_SIZE + 2 * PAD
    size = (max(columns * cell_w + PAD, 480), top + rows * cell_h)
    sheet = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, PAD), title, fill=PLAIN, font=title_font)
    layout = Layout(size, [], [])
    for i, tile in enumerate(tiles):
        x, y = PAD + (i % columns) * cell_w, top + (i // columns) * cell_h
        picture = Image.fromarray(np.asarray(tile.image, np.uint8)).convert("RGB")
        sheet.paste(picture.resize((thumb, thumb), Image.Resampling.LANCZOS), (x, y))
        layout.thumbnails.append((x, y, x + thumb, y + thumb))
        for j, (text, colour) in enumerate(tile.lines):
            draw.text((x, y + thumb + 2 + j * LINE), _fit(draw, text, font, thumb),
                      fill=colour, font=font)
        layout.captions.append((x, y + thumb, x + thumb, y + thumb + lines * LINE + PAD))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": 90} if Path(path).suffix.lower() in (".jpg", ".jpeg") else {}
    sheet.save(path, **options)
    return layout


def _fit(draw, text: str, font, width: int) -> str:
    """`text`, shortened from the left with an ellipsis until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength("…" + text, font=font) > width:
        text = text[1:]
    return "…" + text
