"""`python -m export bundle`: ship the best exported int8 model that passed its parity gate.

Each export leaves `<model>_<variant>.tflite` in the artifacts folder and its report in
`<model>_parity/`. Bundling reads those reports, keeps the int8 files that passed the gate and
are still the files that were checked (same sha256), and takes the one most accurate on the
validation split through edge; the test split is not used to choose, so it stays an honest
check of the shipped model. The model, its report (with the choice written into it) and the
report's pictures go to edge/models/.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from export.errors import ExportError

BUNDLED_NAME = "cats_vs_dogs_int8.tflite"


@dataclass(frozen=True)
class BundleConfig:
    """`artifacts`: where `python -m export` wrote; `dest`: edge's bundled-model folder."""

    artifacts: Path = Path("artifacts")
    dest: Path = Path("edge/models")
    variant: str = "int8"


@dataclass(frozen=True)
class Candidate:
    """One exported model's int8 file as its parity report saw it."""

    model: str
    tflite: Path
    report: dict
    row: dict
    note: str

    @property
    def usable(self) -> bool:
        return not self.note

    @property
    def validation_accuracy(self) -> float:
        """TFLite accuracy on the validation split: the folder's minus the test split's."""
        test, folder = self.row["sets"]["test"], self.row["sets"]["validation_folder"]
        right = sum(_trace(folder["confusion"]["tflite"])) - sum(_trace(test["confusion"]
                                                                        ["tflite"]))
        return right / (folder["n"] - test["n"])

    def to_json(self, chosen: bool = False) -> dict:
        return {"model": self.model, "passed": bool(self.row.get("passed")),
                "validation_accuracy": self.validation_accuracy,
                "agreement": self.row["sets"]["validation_folder"]["agreement"],
                "note": "**bundled**" if chosen else (self.note or "passed, less accurate")}


def _trace(matrix: list[list[int]]) -> list[int]:
    return [matrix[i][i] for i in range(len(matrix))]


def candidates(config: BundleConfig) -> list[Candidate]:
    """Every `<model>_parity/parity.json` under `artifacts` that checked a `variant` file."""
    from edge.runrecord import sha256_of

    found = []
    for path in sorted(Path(config.artifacts).glob("*_parity/parity.json")):
        report = json.loads(path.read_text())
        model = Path(report["keras_model"]).stem
        for row in report["variants"]:
            if row["variant"] != config.variant:
                continue
            tflite = Path(config.artifacts) / Path(row["path"]).name
            if not tflite.is_file():
                note = f"{tflite} is gone"
            elif row.get("sha256") != sha256_of(tflite):
                note = f"{tflite.name} changed since its parity check"
            elif not row["passed"]:
                note = "failed: " + "; ".join(c["name"] for c in row["checks"]
                                              if not c["passed"])
            else:
                note = ""
            found.append(Candidate(model, tflite, report, row, note))
    return found


def choose(found: list[Candidate], config: BundleConfig) -> Candidate:
    usable = [c for c in found if c.usable]
    if not usable:
        seen = "; ".join(f"{c.model}: {c.note}" for c in found) or "no parity report"
        raise ExportError(
            f"No {config.variant} model in {config.artifacts}/ passed its parity gate ({seen}). "
            "Export one that passes first (`make export`, MODEL=model4 to convert another).")
    return max(usable, key=lambda c: (c.validation_accuracy, c.row["sets"]
                                      ["validation_folder"]["agreement"]))


def reason(chosen: Candidate, found: list[Candidate]) -> str:
    others = [c for c in found if c is not chosen]
    text = (f"it passed the parity gate, with {100 * chosen.validation_accuracy:.2f}% on the "
            "validation split through edge")
    if not others:
        return text + " (the only exported candidate)"
    return text + (", the best of the exported models that passed (the test split is not used"
                   " to choose)")


def bundle(config: BundleConfig) -> tuple[Candidate, Path]:
    """Copy the chosen model, its report and pictures to `dest`; returns it and the report."""
    from export.report import write_report

    found = candidates(config)
    chosen = choose(found, config)
    dest = Path(config.dest)
    dest.mkdir(parents=True, exist_ok=True)
    _remove_old_pictures(dest)
    shutil.copyfile(chosen.tflite, dest / BUNDLED_NAME)
    source = Path(config.artifacts) / f"{chosen.model}_parity"
    for row in chosen.report["variants"]:
        for name in (row.get("figures") or {}).get("files", {}).values():
            if name:
                shutil.copyfile(source / name, dest / name)
    report = {**chosen.report, "bundle": {
        "model": chosen.model, "variant": config.variant, "file": BUNDLED_NAME,
        "reason": reason(chosen, found), "candidates": [c.to_json(c is chosen) for c in found]}}
    _, markdown = write_report(report, dest)
    return chosen, markdown


def _remove_old_pictures(dest: Path) -> None:
    """The pictures the previous bundled report linked, so that none outlives its report."""
    old = dest / "parity.json"
    if not old.is_file():
        return
    for row in json.loads(old.read_text()).get("variants", []):
        for name in (row.get("figures") or {}).get("files", {}).values():
            if name and (dest / name).is_file():
                (dest / name).unlink()
