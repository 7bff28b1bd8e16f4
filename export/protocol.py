"""Which images took part in which choice about a model, read from train's metrics.json.

An accuracy measured on images that chose something about the model (its epoch, its learning
rate, which model to ship) is optimistic: the choice fitted those very images. Each model entry
of metrics.json records `chosen_on` (split name -> the decisions those images took part in);
the bundle compares two models only on a split that chose nothing for either, and parity says
beside each accuracy what its images chose.
"""

from __future__ import annotations

import json
from pathlib import Path

from export.errors import ExportError

# The splits accuracy is measured on, in the order the bundle prefers them for a comparison:
# validation first, so that the test split stays unused whenever validation is clean.
SPLITS = ("validation", "test")
UNRECORDED = "unrecorded choices (no entry in metrics.json)"


def read_models(folder: Path) -> dict | None:
    """metrics.json's `models` beside train's other outputs; None when the file is absent."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        return None
    try:
        models = json.loads(path.read_text())["models"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ExportError(f"{path} is not train's metrics.json ({exc}): rerun `make train`, "
                          "or move the file away if it is not train's.") from None
    if not isinstance(models, dict):
        raise ExportError(f"{path}: `models` is not an object: rerun `make train`.")
    return models


def chosen_on(models: dict, model: str) -> dict[str, tuple[str, ...]]:
    """Split name -> the decisions its images took part in for `model` (non-empty only).

    Metrics from a run that did not record `chosen_on` are read as the only choice train made
    then: the validation split picked the restored epoch of a model that records
    `restored_epoch`. A model metrics.json does not know is assumed chosen on validation, so
    that an unknown history can never make the validation split look clean.
    """
    entry = models.get(model)
    if not isinstance(entry, dict):
        return {"validation": (UNRECORDED,)}
    recorded = entry.get("chosen_on")
    if recorded is None:
        return {"validation": ("epoch",)} if entry.get("restored_epoch") is not None else {}
    return {split: tuple(choices) for split, choices in recorded.items() if choices}


def clean_split(*chosen: dict) -> str | None:
    """The first of SPLITS on which none of the given models chose anything."""
    return next((s for s in SPLITS if not any(c.get(s) for c in chosen)), None)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order): with several challengers, the chance
    that any one of them looks better by luck alone stays at the 5% of a single test."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
