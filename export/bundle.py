"""`python -m export bundle`: ship an exported int8 model that passed its parity gate, chosen
by a paired test on images that chose nothing for either model.

Each export leaves `<model>_<variant>.tflite` in the artifacts folder and its report in
`<model>_parity/`, with every image's TFLite answer. Bundling keeps the int8 files that passed
the gate and are still the files that were checked (same sha256). The baseline is model4, the
study's model (simpler), or the first candidate by name without it. Another candidate replaces
it only when McNemar's exact test on their per-image verdicts says it is better beyond chance
(Holm-corrected when there are several), on the first split that took part in no choice for
either model (metrics.json's `chosen_on`, export.protocol): an accuracy on images that picked a
model's epoch flatters that model, so "better" there proves nothing. The model, its report
(with the test written into it) and the report's pictures go to edge/models/.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from edge.stats import ALPHA, Accuracy, Paired, paired
from export.errors import ExportError
from export.protocol import SPLITS, chosen_on, clean_split, holm, read_models

BUNDLED_NAME = "cats_vs_dogs_int8.tflite"
BASELINE = "model4"
BUNDLE_CHOICE = "which model to bundle"
NO_METRICS = "unrecorded choices (no metrics.json)"


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

    def counts(self, split: str) -> tuple[int, int]:
        """(right, n) of the TFLite model on a split, from the confusion matrices: the
        validation split is the folder minus the test split."""
        test, folder = self.row["sets"]["test"], self.row["sets"]["validation_folder"]
        right_test, right_folder = (sum(_trace(s["confusion"]["tflite"])) for s in (test, folder))
        if split == "test":
            return right_test, test["n"]
        return right_folder - right_test, folder["n"] - test["n"]

    def accuracy(self, split: str, chose=()) -> Accuracy:
        right, n = self.counts(split)
        return Accuracy(right, n, f"{split} split", tuple(chose))

    def right(self, split: str) -> list[bool] | None:
        """Per-image TFLite correctness on a split, None when the report predates them."""
        images = self.report.get("parity_images")
        predicted = (self.row.get("predictions") or {}).get("tflite")
        if not images or predicted is None:
            return None
        labels, n_val = images["labels"], images["validation"]
        part = slice(0, n_val) if split == "validation" else slice(n_val, None)
        return [p == y for p, y in zip(predicted[part], labels[part], strict=True)]

    @property
    def images_sha256(self) -> str | None:
        return (self.report.get("parity_images") or {}).get("paths_sha256")


def _trace(matrix: list[list[int]]) -> list[int]:
    return [matrix[i][i] for i in range(len(matrix))]


@dataclass(frozen=True)
class Comparison:
    """A challenger against the baseline: the paired test, or why there is none."""

    challenger: str
    split: str | None
    test: Paired | None
    note: str = ""
    p_holm: float | None = None

    @property
    def better(self) -> bool:
        return (self.test is not None and self.p_holm is not None and self.p_holm < ALPHA
                and self.test.only_a > self.test.only_b)

    def text(self) -> str:
        if self.test is None:
            return f"{self.challenger}: {self.note}"
        t = self.test
        verdict = (f"{self.challenger} better beyond chance" if self.better
                   else "not distinguishable" if self.p_holm >= ALPHA
                   else f"{t.name_b} better beyond chance")
        return (f"{t.name_a} vs {t.name_b} on the {t.images} ({t.n} images): {t.only_a} right "
                f"only for {t.name_a}, {t.only_b} only for {t.name_b}; McNemar exact p = "
                f"{t.p_value:.3g}, Holm-adjusted {self.p_holm:.3g}: {verdict}")

    def to_json(self) -> dict:
        return {"challenger": self.challenger, "split": self.split,
                "paired": self.test.to_json() if self.test else None,
                "p_holm": self.p_holm, "better": self.better, "note": self.note,
                "text": self.text()}


@dataclass(frozen=True)
class Decision:
    """What bundling decided and everything parity.md quotes about it."""

    chosen: Candidate
    baseline: Candidate
    comparisons: list[Comparison]
    choices: dict[str, dict[str, tuple[str, ...]]]
    ranked_on: str | None = None

    @property
    def used_splits(self) -> list[str]:
        """Splits whose images took part in the bundle choice."""
        used = {c.split for c in self.comparisons if c.test is not None}
        if self.ranked_on:
            used.add(self.ranked_on)
        return [s for s in SPLITS if s in used]

    def bundled_choices(self) -> dict[str, tuple[str, ...]]:
        """Split -> what it chose about the bundled model, the bundle choice included."""
        own = self.choices.get(self.chosen.model, {})
        return {s: tuple(own.get(s, ())) + ((BUNDLE_CHOICE,) if s in self.used_splits else ())
                for s in SPLITS}

    def unbiased(self) -> Accuracy | None:
        """The bundled model's accuracy on the first split that chose nothing about it."""
        choices = self.bundled_choices()
        split = next((s for s in SPLITS if not choices[s]), None)
        return self.chosen.accuracy(split) if split else None


def candidates(config: BundleConfig) -> list[Candidate]:
    """Every `<model>_parity/parity.json` under `artifacts` that checked a `variant` file."""
    from edge.run.runrecord import sha256_of

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


def _choices(usable: list[Candidate], baseline: Candidate, config: BundleConfig) -> dict:
    models = read_models(Path(config.artifacts))
    if models is None:
        if len(usable) > 1:
            raise ExportError(
                f"{Path(config.artifacts) / 'metrics.json'} not found: without it the bundle "
                "cannot tell which images chose each model's epoch or settings, so it cannot "
                f"compare {', '.join(c.model for c in usable)} fairly. Put train's metrics.json "
                "back, or export only the model to bundle.")
        return {baseline.model: {"validation": (NO_METRICS,)}}
    return {c.model: chosen_on(models, c.model) for c in usable}


def _compare(challenger: Candidate, baseline: Candidate, choices: dict) -> Comparison:
    split = clean_split(choices[baseline.model], choices[challenger.model])
    if split is None:
        chose = "; ".join(f"{m}: {s} chose the {' and the '.join(c)}"
                          for m in (challenger.model, baseline.model)
                          for s, c in choices[m].items() if c)
        return Comparison(challenger.model, None, None, "cannot be called better: no split is "
                          f"free of choices about both models ({chose})")
    right_c, right_b = challenger.right(split), baseline.right(split)
    if right_c is None or right_b is None:
        old = challenger.model if right_c is None else baseline.model
        return Comparison(challenger.model, split, None, "cannot be called better: "
                          f"{old}'s parity.json records no per-image answers (re-run "
                          f"`python -m export parity` for it)")
    if challenger.images_sha256 != baseline.images_sha256:
        return Comparison(challenger.model, split, None, "cannot be called better: its "
                          f"parity report was made on other images than {baseline.model}'s")
    return Comparison(challenger.model, split,
                      paired(challenger.model, right_c, baseline.model, right_b,
                             f"{split} split"))


def _require_baseline(found: list[Candidate], config: BundleConfig) -> None:
    """A trained model4 that was never exported would let any other model ship unchallenged:
    bundling needs its report (passed or failed) before it weighs the others."""
    keras = Path(config.artifacts) / f"{BASELINE}.keras"
    if keras.is_file() and not any(c.model == BASELINE for c in found):
        raise ExportError(
            f"{keras} has no {config.variant} export with a parity report in "
            f"{config.artifacts}/: {BASELINE}, the study's model, is the baseline every other "
            f"model must beat. Export it first (`make export MODEL={BASELINE}`, or `python -m "
            f"export --model {keras}`), then bundle.")


def decide(found: list[Candidate], config: BundleConfig) -> Decision:
    """The baseline, unless a challenger is better beyond chance on clean images."""
    usable = [c for c in found if c.usable]
    if not usable:
        seen = "; ".join(f"{c.model}: {c.note}" for c in found) or "no parity report"
        raise ExportError(
            f"No {config.variant} model in {config.artifacts}/ passed its parity gate ({seen}). "
            "Export one that passes first (`make export`, MODEL=model4 to convert another).")
    _require_baseline(found, config)
    baseline = next((c for c in usable if c.model == BASELINE),
                    min(usable, key=lambda c: c.model))
    choices = _choices(usable, baseline, config)
    compared = [_compare(c, baseline, choices) for c in usable if c is not baseline]
    tested = [c for c in compared if c.test is not None]
    adjusted = dict(zip((c.challenger for c in tested), holm([c.test.p_value for c in tested]),
                        strict=True))
    compared = [Comparison(c.challenger, c.split, c.test, c.note, adjusted.get(c.challenger))
                for c in compared]
    winners = [c for c in usable if any(w.better and w.challenger == c.model for w in compared)]
    if not winners:
        return Decision(baseline, baseline, compared, choices)
    if len(winners) == 1:
        return Decision(winners[0], baseline, compared, choices)
    ranked_on = clean_split(*(choices[w.model] for w in winners))
    p_of = {c.challenger: c.p_holm for c in compared}
    if ranked_on is None:
        best = min(winners, key=lambda w: (p_of[w.model], w.model))
    else:
        best = max(winners, key=lambda w: (w.accuracy(ranked_on).value, -p_of[w.model]))
    return Decision(best, baseline, compared, choices, ranked_on)


def reason(decision: Decision) -> str:
    chosen, baseline = decision.chosen, decision.baseline
    if not decision.comparisons:
        return ("it passed the parity gate and is the only exported candidate that did: "
                "nothing to compare it with")
    if chosen is baseline:
        why = ("the study's model, the simpler one" if chosen.model == BASELINE else
               f"no {BASELINE} passed its gate here, so the first candidate by name")
        return (f"{chosen.model} is the baseline ({why}) and no other candidate that passed its "
                "gate is better beyond chance on images that chose nothing for either: not "
                "distinguishable, so the baseline is kept")
    (win,) = [c for c in decision.comparisons if c.challenger == chosen.model]
    text = (f"better than the baseline {baseline.model} beyond chance on the {win.split} split "
            f"(McNemar exact, Holm-adjusted p = {win.p_holm:.3g})")
    if decision.ranked_on:
        text += (f", and the most accurate on the {decision.ranked_on} split of the candidates "
                 "that were")
    return text


def _note(c: Candidate, decision: Decision) -> str:
    if c is decision.chosen:
        return "**bundled**"
    if not c.usable:
        return c.note
    if c is decision.baseline:
        return "baseline, replaced"
    (comp,) = [x for x in decision.comparisons if x.challenger == c.model]
    if comp.test is None:
        return comp.note
    return ("better than the baseline, less accurate than the bundled model" if comp.better
            else "not better than the baseline beyond chance")


def candidate_json(c: Candidate, decision: Decision) -> dict:
    choices = decision.choices.get(c.model, {})
    return {"model": c.model, "passed": bool(c.row.get("passed")),
            "accuracy": {s: c.accuracy(s, choices.get(s, ())).to_json() for s in SPLITS},
            "agreement": c.row["sets"]["validation_folder"]["agreement"],
            "chosen_on": {s: list(v) for s, v in choices.items()},
            "note": _note(c, decision)}


def bundle_entry(decision: Decision, found: list[Candidate], config: BundleConfig) -> dict:
    """The `bundle` entry of the bundled parity.json, which parity.md's section is made from."""
    chosen, choices = decision.chosen, decision.bundled_choices()
    unbiased = decision.unbiased()
    return {"model": chosen.model, "variant": config.variant, "file": BUNDLED_NAME,
            "reason": reason(decision), "baseline": decision.baseline.model,
            "comparisons": [c.to_json() for c in decision.comparisons],
            "decided_on": decision.used_splits,
            "accuracy": {s: chosen.accuracy(s, choices[s]).to_json() for s in SPLITS},
            "unbiased": unbiased.to_json() if unbiased else None,
            "candidates": [candidate_json(c, decision) for c in found]}


def bundle(config: BundleConfig) -> tuple[Candidate, Path]:
    """Copy the chosen model, its report and pictures to `dest`; returns it and the report."""
    from export.report import write_report

    found = candidates(config)
    decision = decide(found, config)
    chosen = decision.chosen
    dest = Path(config.dest)
    dest.mkdir(parents=True, exist_ok=True)
    _remove_old_pictures(dest)
    shutil.copyfile(chosen.tflite, dest / BUNDLED_NAME)
    source = Path(config.artifacts) / f"{chosen.model}_parity"
    for row in chosen.report["variants"]:
        for name in (row.get("figures") or {}).get("files", {}).values():
            if name:
                shutil.copyfile(source / name, dest / name)
    report = {**chosen.report, "bundle": bundle_entry(decision, found, config)}
    _, markdown = write_report(report, dest)
    return chosen, markdown


def summary_lines(report_path: Path) -> list[str]:
    """The terminal's account of a bundle: each test, and the bundled model's honest figure."""
    from edge.stats import Accuracy

    entry = json.loads(Path(report_path).read_text())["bundle"]
    lines = [comparison["text"] for comparison in entry["comparisons"]]
    lines.append(f"{entry['model']}: {entry['reason']}")
    if entry["unbiased"]:
        lines.append(f"{entry['model']} int8: {Accuracy.from_json(entry['unbiased']).text()}")
    else:
        lines.append(f"{entry['model']} int8: no split is free of choices about it; test split "
                     f"{Accuracy.from_json(entry['accuracy']['test']).text()}")
    return lines


def _remove_old_pictures(dest: Path) -> None:
    """The pictures the previous bundled report linked, so that none outlives its report."""
    old = dest / "parity.json"
    if not old.is_file():
        return
    for row in json.loads(old.read_text()).get("variants", []):
        for name in (row.get("figures") or {}).get("files", {}).values():
            if name and (dest / name).is_file():
                (dest / name).unlink()
