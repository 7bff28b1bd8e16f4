"""Which Keras model `python -m export` converts when none is named.

train writes its models, split.json and metrics.json into one folder. Of the models there, the
MobileNetV2-based ones (model4, the study's, and model5, fine-tuned beyond it) are the ones
worth shipping; the default is the one whose saved weights scored best on the validation split
(808 images), as metrics.json records it. The test split plays no part, so that the 192 test
images stay an honest check of whatever is chosen.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from export.errors import ExportError

CANDIDATES = ("model4", "model5")


@dataclass(frozen=True)
class ModelChoice:
    """The Keras model to convert and, for parity.md, why it was taken; `chosen_on` names the
    split whose accuracy made the choice (None when no images did)."""

    path: Path
    reason: str
    chosen_on: str | None = None

    def to_json(self) -> dict:
        return {"model": self.path.stem, "reason": self.reason, "chosen_on": self.chosen_on}


def saved_val_accuracy(entry: dict) -> float | None:
    """Validation accuracy of the weights in the .keras file: the best epoch's when training
    restored it (model5 records `restored_epoch`), else the last epoch's (the study's models)."""
    restored = entry.get("restored_epoch") is not None
    key = "best_val_accuracy" if restored else "final_val_accuracy"
    value = entry.get(key)
    return float(value) if value is not None else None


def _metrics(folder: Path) -> dict:
    path = folder / "metrics.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text()).get("models", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ExportError(f"{path} is not train's metrics.json ({exc}): rerun `make train` "
                          "or name the model (MODEL=model4, --model PATH).") from None


def _missing(path: Path) -> ExportError:
    folder = path.parent
    present = sorted(p.stem for p in folder.glob("*.keras")) if folder.is_dir() else []
    holds = f"{folder}/ holds {', '.join(present)}" if present else f"no .keras model in {folder}/"
    return ExportError(f"{path} not found ({holds}). Train it first (`make train MODELS=...`), "
                       "or name another model (make export MODEL=model4, --model PATH).")


def best_model(folder: Path) -> ModelChoice:
    """The best validated MobileNetV2-based model in `folder`.

    Models without a validation figure in metrics.json rank after those with one; with no
    figures at all, the study's model4 comes before model5 (an unvalidated fine-tune).
    """
    present = [name for name in CANDIDATES if (folder / f"{name}.keras").is_file()]
    if not present:
        raise ExportError(f"No {' or '.join(f'{n}.keras' for n in CANDIDATES)} in {folder}/: "
                          "run `make train` first, or name the model to convert "
                          "(MODEL=name, --model PATH).")
    metrics = _metrics(folder)
    scores = {name: saved_val_accuracy(metrics.get(name, {})) for name in present}
    scored = {name: acc for name, acc in scores.items() if acc is not None}
    if not scored:
        name = present[0]
        return ModelChoice(folder / f"{name}.keras", f"{', '.join(present)} present, no "
                           "validation figure in metrics.json: the first of them")
    name = max(scored, key=lambda n: (scored[n], -present.index(n)))
    ranked = ", ".join(f"{n} {100 * acc:.2f}%" for n, acc in
                       sorted(scored.items(), key=lambda item: -item[1]))
    unscored = [n for n in present if n not in scored]
    extra = f"; {', '.join(unscored)} without a figure" if unscored else ""
    return ModelChoice(folder / f"{name}.keras", "the best validation accuracy (validation split, "
                       f"metrics.json) among the MobileNetV2-based models present: "
                       f"{ranked}{extra}", chosen_on="validation")


def choose_model(model: Path | None, folder: Path) -> ModelChoice:
    """`model` when given (a path), else the best model in `folder` (train's output)."""
    if model is not None:
        if not Path(model).is_file():
            raise _missing(Path(model))
        return ModelChoice(Path(model), f"named by the user ({Path(model).stem})")
    return best_model(folder)


def resolve(config):
    """`config` with its model chosen (see choose_model), and the choice for the report."""
    choice = choose_model(config.model, config.split.parent)
    return dataclasses.replace(config, model=choice.path), choice
