"""How sure an accuracy is, and whether one model beats another: pure Python, no numpy.

Every accuracy pawlite prints comes with its 95% interval, because the project's evaluation sets
are small (192 test images: one image is half a point). Wilson's score interval is used rather
than the normal approximation: it stays inside 0..100% and is honest near 100%, where these
models live. Two models scored on the same images are compared with McNemar's exact test, which
looks only at the images exactly one of them gets right: the others say nothing about which is
better. Shared by train (report), export (parity, bundle) and edge (--eval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
ALPHA = 0.05


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% interval of a proportion `correct / n`; (0, 1) when there is nothing to measure."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    """An accuracy with what backs it: how many images, which ones, and what they chose.

    `images` names the set ("test split", "validation split", "5-fold CV on train"). `chose` lists
    the decisions those same images took part in for this model (e.g. "epoch",
    "which model to bundle"); empty when they chose nothing, i.e. when the number is an unbiased
    estimate for new photos of the same kind.
    """

    correct: int
    n: int
    images: str
    chose: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)

    @property
    def unbiased(self) -> bool:
        return not self.chose

    def figure(self) -> str:
        """`97.40% (187/192, 95% CI 94.0-98.9%)`: the accuracy, its count and interval."""
        lo, hi = self.interval
        return (f"{100 * self.value:.2f}% ({self.correct}/{self.n}, 95% CI "
                f"{100 * lo:.1f}-{100 * hi:.1f}%)")

    def text(self) -> str:
        """`97.40% (187/192, 95% CI 94.0-98.9%) on the test split, which chose nothing`."""
        where = f" on the {self.images}" if self.images else ""
        role = ("which chose nothing" if not self.chose
                else "which also chose the " + " and the ".join(self.chose))
        return f"{self.figure()}{where}, {role}"

    def short(self) -> str:
        """`97.40% (187/192; 94.0-98.9)`, for table cells."""
        lo, hi = self.interval
        return f"{100 * self.value:.2f}% ({self.correct}/{self.n}; {100 * lo:.1f}-{100 * hi:.1f})"

    def to_json(self) -> dict:
        lo, hi = self.interval
        return {"accuracy": self.value, "correct": self.correct, "n": self.n,
                "ci95": [lo, hi], "images": self.images, "chose": list(self.chose)}

    @classmethod
    def from_json(cls, raw: dict) -> Accuracy:
        return cls(int(raw["correct"]), int(raw["n"]), raw.get("images", ""),
                   tuple(raw.get("chose", ())))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact p-value: under "equally good" each discordant image is a fair coin."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Paired:
    """Model a against model b on the same images: the discordant counts and the verdict."""

    name_a: str
    name_b: str
    only_a: int
    only_b: int
    n: int
    images: str

    @property
    def p_value(self) -> float:
        return mcnemar_exact(self.only_a, self.only_b)

    @property
    def verdict(self) -> str:
        """"a better", "b better" or "not distinguishable" at the 5% level."""
        if self.p_value >= ALPHA:
            return "not distinguishable"
        return f"{self.name_a} better" if self.only_a > self.only_b else f"{self.name_b} better"

    @property
    def a_better(self) -> bool:
        return self.p_value < ALPHA and self.only_a > self.only_b

    def text(self) -> str:
        return (f"{self.name_a} vs {self.name_b} on the {self.images} ({self.n} images): "
                f"{self.only_a} right only for {self.name_a}, {self.only_b} only for "
                f"{self.name_b}; McNemar exact p = {self.p_value:.3g}: {self.verdict}")

    def to_json(self) -> dict:
        return {"a": self.name_a, "b": self.name_b, "only_a": self.only_a,
                "only_b": self.only_b, "n": self.n, "images": self.images,
                "test": "McNemar exact, two-sided", "p_value": self.p_value,
                "verdict": self.verdict}


def paired(name_a: str, right_a, name_b: str, right_b, images: str) -> Paired:
    """Compare two per-image correctness sequences (same images, same order)."""
    right_a, right_b = list(map(bool, right_a)), list(map(bool, right_b))
    if len(right_a) != len(right_b):
        raise ValueError(f"{len(right_a)} vs {len(right_b)} images: not the same set")
    only_a = sum(a and not b for a, b in zip(right_a, right_b, strict=True))
    only_b = sum(b and not a for a, b in zip(right_a, right_b, strict=True))
    return Paired(name_a, name_b, only_a, only_b, len(right_a), images)
