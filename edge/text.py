"""Counts in messages: "1 image", "2 images"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it needs (`plural` when adding "s" is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
