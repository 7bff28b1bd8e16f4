"""The outcome of `edge-classify --eval`: one row per image, and the scores made from them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from edge.stats import Accuracy

OTHER = "(other)"


@dataclass(frozen=True)
class Outcome:
    """One image: its true class (the model's label for its folder) and the answer."""

    path: str
    true: str
    predicted: str | None = None
    confidence: float | None = None
    error_kind: str | None = None
    error_message: str | None = None
    placed: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @property
    def correct(self) -> bool:
        return self.ok and self.predicted == self.true


@dataclass(frozen=True)
class EvalResult:
    """Every image's outcome and the figures made from them. `classes` are the labels of
    the class folders, in folder order; scores cover only the images that could be read."""

    model_name: str
    folders: tuple[tuple[str, str], ...]
    outcomes: tuple[Outcome, ...]
    elapsed: float = 0.0
    skipped: int = 0
    stray: int = 0
    skipped_links: int = 0
    interrupted: bool = False
    sorted: int = 0
    unreadable: tuple[tuple[str, str], ...] = ()
    write_error: str | None = None
    classes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(label for _, label in self.folders))

    @property
    def scored(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def misclassified(self) -> list[Outcome]:
        return [o for o in self.scored if not o.correct]

    @property
    def accuracy(self) -> float | None:
        scored = self.scored
        return sum(o.correct for o in scored) / len(scored) if scored else None

    def evidence(self) -> Accuracy | None:
        """The accuracy with its count and Wilson 95% interval (None: nothing was scored)."""
        scored = self.scored
        if not scored:
            return None
        return Accuracy(sum(o.correct for o in scored), len(scored), "evaluated folder")

    def counts(self) -> Counter:
        """(true, predicted) -> images; predictions outside `classes` keep their label."""
        return Counter((o.true, o.predicted) for o in self.scored)

    def confusion(self) -> tuple[tuple[str, ...], list[list[int]]]:
        """(columns, rows): one row per class, one column per class plus OTHER for every
        prediction outside the folders' classes."""
        counts = self.counts()
        outside = any(p not in self.classes for _, p in counts)
        columns = self.classes + ((OTHER,) if outside else ())
        rows = [[counts[(t, p)] for p in self.classes]
                + ([sum(n for (tt, p), n in counts.items() if tt == t and p not in self.classes)]
                   if outside else [])
                for t in self.classes]
        return columns, rows

    def outside(self) -> Counter:
        """Predicted labels that are none of the folders' classes, with their counts."""
        return Counter(o.predicted for o in self.scored if o.predicted not in self.classes)

    def images(self, label: str) -> int:
        return sum(1 for o in self.scored if o.true == label)

    def precision(self, label: str) -> float | None:
        predicted = [o for o in self.scored if o.predicted == label]
        return sum(o.correct for o in predicted) / len(predicted) if predicted else None

    def recall(self, label: str) -> float | None:
        truth = [o for o in self.scored if o.true == label]
        return sum(o.correct for o in truth) / len(truth) if truth else None
