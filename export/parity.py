"""The accuracy-parity gate: the Keras model on training pixels vs the .tflite through edge.

(a) runs the Keras model on `train.dataset` arrays, the pixels it was trained on; (b) runs the
exported file through `edge.Classifier.classify_paths`, exactly what `edge-classify` runs (edge's
decode, resize and runtime). Both run on the fixed test split and on the whole validation folder
(validation + test). TFLite columns are matched to the split's classes by name, so a model whose
labels are scrambled fails the gate instead of passing on indices.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.scores import softmax
from edge.stats import ALPHA
from export.config import ExportConfig
from export.errors import ExportError
from export.figures import Evaluated, write_figures
from export.loaders import load_keras_model, load_split, sha256_file
from export.protocol import SPLITS, chosen_on, read_models
from export.report import (
    Check,
    SetComparison,
    build_report,
    compare,
    predictions,
    write_report,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VariantResult:
    """One checked model's row of parity.json, and its edge probabilities on the validation
    folder (`probs`, not written), which the resize study reuses instead of classifying the
    same 1,000 images again. `predictions` (Keras and TFLite top-1 class per image of the
    validation folder, parity_paths order, -1 where edge failed) are written, so that two
    exported models can later be compared image by image (export.bundle) without running them.

    `from_this_keras_model` is False when the file records another Keras source than the
    compared model (then the comparison is between two different models), None when the file
    records none.
    """

    variant: str
    path: Path
    sha256: str
    size_bytes: int
    resize: str
    from_this_keras_model: bool | None
    calibration: dict | None
    latency_ms: float
    errors: list[dict]
    sets: dict[str, SetComparison]
    checks: list[Check]
    figures: dict
    predictions: dict
    probs: np.ndarray = field(repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_json(self) -> dict:
        return {
            "variant": self.variant,
            "path": str(self.path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "resize": self.resize,
            "from_this_keras_model": self.from_this_keras_model,
            "calibration": self.calibration,
            "latency_ms": self.latency_ms,
            "errors": self.errors,
            "sets": {name: s.to_json() for name, s in self.sets.items()},
            "checks": [check.to_json() for check in self.checks],
            "passed": self.passed,
            "figures": self.figures,
            "predictions": self.predictions,
        }


def parity_paths(split) -> tuple[list[Path], np.ndarray, int]:
    """Validation then test paths (the whole validation folder), labels, and the test count."""
    paths = split.paths("validation") + split.paths("test")
    labels = np.asarray(split.labels("validation") + split.labels("test"), np.int64)
    n_test = len(split.labels("test"))
    if not n_test:
        raise ExportError("The split has no test images: parity needs the test split of "
                          "split.json (rerun `python -m train --prepare-only`).")
    return paths, labels, n_test


def parity_images(split) -> dict:
    """Which images, in which order, the per-image `predictions` of parity.json follow; the
    paths' digest tells whether two reports were made on the same images."""
    validation, test = split.splits["validation"], split.splits["test"]
    named = {"validation": [path for path, _ in validation], "test": [path for path, _ in test]}
    return {"order": "validation split, then test split", "validation": len(validation),
            "test": len(test), "labels": [int(label) for _, label in validation + test],
            "paths_sha256": hashlib.sha256(json.dumps(named).encode()).hexdigest()}


def set_choices(folder: Path, model: str, choice=None) -> dict[str, tuple[str, ...]]:
    """Parity set -> what its images chose about the Keras model (metrics.json's `chosen_on`,
    plus the validation split's part in picking which model to convert)."""
    models = read_models(folder)
    split_choices = (chosen_on(models, model) if models is not None
                     else {"validation": ("unrecorded choices (no metrics.json)",)})
    split_choices = {s: list(split_choices.get(s, ())) for s in SPLITS}
    if choice is not None and getattr(choice, "chosen_on", None) in split_choices:
        split_choices[choice.chosen_on].append("which model to convert")
    folder_choices = tuple(dict.fromkeys(c for s in SPLITS for c in split_choices[s]))
    return {"test": tuple(split_choices["test"]), "validation_folder": folder_choices}


def keras_probabilities(model, split) -> np.ndarray:
    """(a): softmax of the Keras logits on the training pipeline's pixels, in parity order."""
    from train.dataset import load_arrays

    images = np.concatenate([load_arrays(split, "validation")[0], load_arrays(split, "test")[0]])
    logits = np.asarray(model.predict(images.astype(np.float32), batch_size=32, verbose=0))
    return softmax(logits)


def open_classifier(path: Path, resize: str | None, num_threads: int | None):
    from edge.classifier import Classifier
    from edge.errors import EdgeError

    try:
        return Classifier(model_path=path, resize=resize, num_threads=num_threads)
    except EdgeError as exc:
        raise ExportError(f"edge cannot load {path}: {exc}") from None


def edge_probabilities(clf, paths: list[Path], class_names) -> tuple[np.ndarray, list]:
    """(b): probabilities from `classify_paths`, columns reordered to `class_names`.

    A file edge fails on gets a NaN row (counted wrong) and its error in the second list.
    """
    model_names = list(clf.class_names)
    if sorted(model_names) != sorted(class_names):
        raise ExportError(
            f"{clf.model_path} knows classes {model_names}, the split has {list(class_names)}: "
            "export the model trained on this split."
        )
    order = [model_names.index(name) for name in class_names]
    probs = np.full((len(paths), len(class_names)), np.nan)
    errors = []
    for i, result in enumerate(clf.classify_paths(paths, top_k=len(class_names))):
        if result.error_kind is None:
            probs[i] = np.asarray(result.probabilities)[order]
        else:
            errors.append({"path": result.path, "kind": result.error_kind})
    return probs, errors


def single_image_latency_ms(clf, runs: int) -> float:
    """Mean wall time of `predict` on one image after a short warm-up."""
    image = np.full((1, *clf.input_size, 3), 128, np.uint8)
    for _ in range(3):
        clf.predict(image)
    start = time.perf_counter()
    for _ in range(max(1, runs)):
        clf.predict(image)
    return (time.perf_counter() - start) / max(1, runs) * 1000


def models_to_check(config: ExportConfig) -> list[tuple[str, Path]]:
    """(variant, path) pairs: `config.tflite` alone, or each requested variant under `out`."""
    if config.tflite is not None:
        from edge.modelfile.modelinfo import read_model_info

        if not config.tflite.is_file():
            raise ExportError(f"{config.tflite} not found: pass --tflite PATH to a .tflite file.")
        info = read_model_info(config.tflite)
        return [((info.quantization if info else None) or config.tflite.stem, config.tflite)]
    missing = [v for v in config.variants if not config.tflite_path(v).is_file()]
    if missing:
        raise ExportError(
            f"{config.tflite_path(missing[0])} not found: run `python -m export` "
            f"(with --quantization {missing[0]} or --all) before `python -m export parity`."
        )
    return [(v, config.tflite_path(v)) for v in config.variants]


def evaluate(config: ExportConfig, variant: str, path: Path, split, keras_probs,
             keras_sha256: str, chose: dict | None = None) -> VariantResult:
    """One model's row of the report: both sets, size, latency, thresholds. `chose` (see
    set_choices) says what each set's images chose about the Keras model."""
    paths, labels, n_test = parity_paths(split)
    clf = open_classifier(path, config.resize, config.num_threads)
    log.info("parity %s (%s resize) on %d images", variant, clf.resize, len(paths))
    probs, errors = edge_probabilities(clf, paths, split.class_names)
    names = split.class_names
    test = slice(len(paths) - n_test, None)
    chose = chose or {}
    level = config.confident_level
    sets = {
        "test": compare(keras_probs[test], probs[test], labels[test], names, "test split",
                        chose.get("test", ()), level),
        "validation_folder": compare(keras_probs, probs, labels, names, "validation folder",
                                     chose.get("validation_folder", ()), level),
    }
    checks = gate_checks(sets, config.max_accuracy_drop, config.min_agreement)
    figures = write_figures(Evaluated(variant, paths, labels, n_test, tuple(names), keras_probs,
                                      probs, clf.load), config.report_dir)
    return VariantResult(
        variant=variant,
        path=path,
        sha256=sha256_file(path),
        size_bytes=path.stat().st_size,
        resize=clf.resize,
        from_this_keras_model=(clf.info.source.get("keras_sha256") == keras_sha256)
        if clf.info else None,
        calibration=clf.info.source.get("calibration") if clf.info else None,
        latency_ms=single_image_latency_ms(clf, config.latency_runs),
        errors=errors,
        sets=sets,
        checks=checks,
        figures=figures,
        predictions={"keras": keras_probs.argmax(axis=1).tolist(),
                     "tflite": predictions(probs).tolist()},
        probs=probs,
    )


def gate_checks(sets: dict[str, SetComparison], max_drop: float,
                min_agreement: float) -> list[Check]:
    """The gate asks "is the device model no worse?": one-sided accuracy rules, plus agreement.

    An int8 model that is more accurate than Keras never fails: users care about a loss, and a
    two-sided limit failed a 10-class export that gained 3 test images and lost none. Each
    accuracy check's value is the loss in points (Keras minus TFLite; negative for a gain).
    On the 192 test images one image is 0.52 points, so a 1-point limit there fails on the
    chance flip of two borderline images: the test split fails only when the loss is over the
    limit *and* the paired 95% interval lies wholly below zero (a loss beyond chance). The
    limit itself is applied flat on the 1,000-image validation folder (one image = 0.1 point).

    Agreement is judged where it means something. Quantization moves probabilities by a few
    hundredths, too little to change the answer on an image Keras is confident about (top-1 >=
    the set's `by_confidence` level): there agreement must reach `min_agreement`, and a
    confident model, nearly all of whose images are confident, is held to it as strictly as
    ever. On the unsure images an answer is a near tie that such noise tips either way, at
    most as often as a fair coin: a weak or many-class model has many of them, and a flat
    agreement rule failed a 10-class model that lost no accuracy. There the check fails only
    when more than half the answers changed and coin tosses would rarely change as many
    (one-sided binomial p < 0.05), which is what scrambled labels or a broken layer do.
    Agreement stays two-sided in effect: an export that changes many confident answers is a
    different model even when it scores as well.
    """
    test, folder = sets["test"], sets["validation_folder"]
    test_loss = -test.accuracy_diff_points
    beyond_chance = test.accuracy_diff_95ci_points[1] < 0
    folder_loss = -folder.accuracy_diff_points
    split = folder.by_confidence
    sure, unsure = split["confident"], split["unsure"]
    unsure_changed = 1 - unsure["agreement"]
    return [
        Check("accuracy loss on test (points), where its 95% interval is below 0",
              test_loss, max_drop, test_loss <= max_drop or not beyond_chance),
        Check("accuracy loss on validation folder (points)", folder_loss, max_drop,
              folder_loss <= max_drop),
        Check(f"top-1 agreement on validation folder, images Keras is confident about "
              f"(top-1 >= {split['level']:.2f})", sure["agreement"], min_agreement,
              sure["agreement"] >= min_agreement),
        Check("top-1 answers changed on validation folder, images Keras is unsure about, "
              "where beyond coin tosses", unsure_changed, 0.5,
              unsure_changed <= 0.5 or unsure["p_beyond_coin_tosses"] >= ALPHA),
    ]


def resize_study(config: ExportConfig, split, keras_probs, rows: list[VariantResult],
                 reference: Path | None = None) -> list[dict]:
    """Each checked model, and the float32 `reference` when given, under both resize methods
    (validation folder).

    float32 through edge isolates the resize gap (no quantization); int8 vs float32 at the
    same resize isolates the quantization gap.
    """
    paths, labels, _ = parity_paths(split)
    done = {(row.variant, row.resize): row.probs for row in rows}
    models = {row.variant: row.path for row in rows}
    if reference is not None:
        models["float32 (reference)"] = reference
    study = []
    for variant, path in models.items():
        for resize in STUDY_RESIZES:
            probs = done.get((variant, resize))
            if probs is None:
                clf = open_classifier(path, resize, config.num_threads)
                probs, _ = edge_probabilities(clf, paths, split.class_names)
            metrics = compare(keras_probs, probs, labels, split.class_names).to_json()
            study.append({"variant": variant, "resize": resize,
                          **{k: metrics[k] for k in STUDY_KEYS}})
    return study


def needs_reference(config: ExportConfig) -> bool:
    """The resize study needs a float32 model to tell resize from quantization; parity exports
    one (to a temporary folder) unless float32 is among the checked variants."""
    return config.resize_study and config.tflite is None and "float32" not in config.variants


# The two resizes the study compares (report.resize_finding reads both); edge's third,
# asymmetric-bilinear, is for foreign models.
STUDY_RESIZES = ("tf-bilinear", "pillow-bilinear")
STUDY_KEYS = ("tflite_accuracy", "accuracy_diff_points", "agreement", "disagreements",
              "max_prob_diff", "mean_abs_prob_diff")


def run_parity(config: ExportConfig, split=None, model=None,
               reference: Callable[..., Path] | None = None, choice=None) -> dict:
    """Evaluate, write parity.json, parity.md and the figures under `config.report_dir`,
    return the report. `choice` (export.choose) says why this Keras model; resolved here when
    the caller did not.

    `reference(split, model)` returns the path of a float32 export of `model`; it is called
    after the checked models are evaluated, when `needs_reference(config)`. export.pipeline
    passes it, so that parity does not depend on the converter.
    """
    if choice is None:
        from export.choose import resolve

        config, choice = resolve(config)
    split = split or load_split(config)
    models = models_to_check(config)
    model = model or load_keras_model(config.model)
    log.info("parity: Keras model on %d images", len(parity_paths(split)[0]))
    keras_probs = keras_probabilities(model, split)
    keras_sha256 = sha256_file(config.model)
    chose = set_choices(Path(config.split).parent, Path(config.model).stem, choice)
    rows = [evaluate(config, v, p, split, keras_probs, keras_sha256, chose) for v, p in models]
    study = []
    if config.resize_study:
        extra = None
        if reference is not None and needs_reference(config):
            extra = reference(split, model)
        study = resize_study(config, split, keras_probs, rows, extra)
    report = build_report(config, split, keras_sha256, rows, study, choice, parity_images(split))
    write_report(report, config.report_dir)
    return report
