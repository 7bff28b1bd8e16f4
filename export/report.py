"""The parity numbers and their two files: parity.json (for machines) and parity.md (for people).

`compare` turns two probability matrices into the metrics the gate checks (a `SetComparison`);
the Markdown is made from the same dict that is written to parity.json, so the two never
disagree.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge.stats import Accuracy
from export.report_sections import bundle_section, choice_section, pct, pictures_section

FORMAT = "pawlite-parity/1"
# Keras's top-1 probability from which an image counts as confident for the agreement rule
# (export.parity.gate_checks).
CONFIDENT_LEVEL = 0.8


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Rows: true class, columns: predicted class; a prediction of -1 (an image edge could not
    read) is counted in no column."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    matrix = np.zeros((k, k), np.int64)
    ok = predicted >= 0
    np.add.at(matrix, (labels[ok], predicted[ok]), 1)
    return matrix


def paired_interval_points(gained: int, lost: int, n: int) -> list[float]:
    """95% interval of the accuracy difference (points) from the images that changed verdict.

    Both models see the same images, so only the `gained` (TFLite right, Keras wrong) and `lost`
    (the reverse) images carry information; on 192 test images one image is 0.52 points, and a
    gate near that size can fail on noise alone, which this interval makes visible.
    """
    if not n:
        return [0.0, 0.0]
    diff = (gained - lost) / n
    spread = max(gained + lost - (gained - lost) ** 2 / n, 0.0) ** 0.5 / n
    return [100 * (diff - 1.96 * spread), 100 * (diff + 1.96 * spread)]


@dataclass(frozen=True)
class SetComparison:
    """Keras vs TFLite on one image set: what the gate reads and parity.json records.

    `changed_verdicts` counts the images only one of the two got right; the paired 95%
    interval of the accuracy difference comes from them (see paired_interval_points).
    """

    n: int
    keras_accuracy: float
    tflite_accuracy: float
    accuracy_diff_points: float
    changed_verdicts: dict
    accuracy_diff_95ci_points: list
    agreement: float
    disagreements: int
    max_prob_diff: float
    mean_abs_prob_diff: float
    edge_errors: int
    per_class: dict
    confusion: dict
    keras: Accuracy
    tflite: Accuracy
    by_confidence: dict

    def to_json(self) -> dict:
        return {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _plain(value):
    return value.to_json() if isinstance(value, Accuracy) else value


def flips_beyond_coin_tosses(flips: int, n: int) -> float:
    """One-sided p-value of `flips` or more among `n` images if each flipped by a fair coin.

    A near tie that quantization noise tips over flips at most half the time; more flips than
    that, beyond chance, mean the answers moved systematically (scrambled labels, a broken op).
    """
    if n <= 0 or flips <= 0:
        return 1.0
    return sum(math.comb(n, i) for i in range(flips, n + 1)) / 2 ** n


def by_confidence(keras: np.ndarray, k_pred: np.ndarray, t_pred: np.ndarray,
                  level: float) -> dict:
    """Agreement split by Keras's top-1 probability: `confident` (>= level) and `unsure`."""
    confident = keras.max(axis=1) >= level
    out = {"level": level}
    for name, members in (("confident", confident), ("unsure", ~confident)):
        n, flips = int(members.sum()), int(np.sum(members & (k_pred != t_pred)))
        out[name] = {"n": n, "disagreements": flips,
                     "agreement": 1 - flips / n if n else 1.0}
    out["unsure"]["p_beyond_coin_tosses"] = flips_beyond_coin_tosses(
        out["unsure"]["disagreements"], out["unsure"]["n"])
    return out


@dataclass(frozen=True)
class Check:
    """One gate threshold: the measured `value` against its `limit`."""

    name: str
    value: float
    limit: float
    passed: bool

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "limit": self.limit,
                "passed": self.passed}


def predictions(probs: np.ndarray) -> np.ndarray:
    """Top-1 class per image; -1 where edge could not read the image (a NaN row)."""
    ok = ~np.isnan(probs).any(axis=1)
    return np.where(ok, np.nan_to_num(probs, nan=-1.0).argmax(axis=1), -1)


def compare(keras: np.ndarray, tflite: np.ndarray, labels: np.ndarray, class_names,
            images: str = "", chose: tuple[str, ...] = (),
            confident_level: float = CONFIDENT_LEVEL) -> SetComparison:
    """Metrics of (a) Keras vs (b) TFLite probabilities; NaN TFLite rows are edge errors.

    `images` names the set and `chose` lists what those images chose about the Keras model;
    both go into each model's own accuracy (edge.stats.Accuracy, with its Wilson interval).
    """
    labels = np.asarray(labels)
    ok = ~np.isnan(tflite).any(axis=1)
    k_pred = keras.argmax(axis=1)
    t_pred = predictions(tflite)
    diff = np.abs(keras[ok] - tflite[ok])
    k_acc, t_acc = float(np.mean(k_pred == labels)), float(np.mean(t_pred == labels))
    gained = int(np.sum((t_pred == labels) & (k_pred != labels)))
    lost = int(np.sum((k_pred == labels) & (t_pred != labels)))
    per_class = {}
    for c, name in enumerate(class_names):
        members = labels == c
        per_class[name] = {
            "n": int(members.sum()),
            "keras_accuracy": float(np.mean(k_pred[members] == c)) if members.any() else None,
            "tflite_accuracy": float(np.mean(t_pred[members] == c)) if members.any() else None,
        }
    return SetComparison(
        n=int(len(labels)),
        keras_accuracy=k_acc,
        tflite_accuracy=t_acc,
        accuracy_diff_points=(t_acc - k_acc) * 100,
        changed_verdicts={"tflite_right_keras_wrong": gained,
                          "keras_right_tflite_wrong": lost},
        accuracy_diff_95ci_points=paired_interval_points(gained, lost, len(labels)),
        agreement=float(np.mean(k_pred == t_pred)),
        disagreements=int(np.sum(k_pred != t_pred)),
        max_prob_diff=float(diff.max()) if diff.size else 0.0,
        mean_abs_prob_diff=float(diff.mean()) if diff.size else 0.0,
        edge_errors=int((~ok).sum()),
        per_class=per_class,
        confusion={"keras": confusion_matrix(labels, k_pred, len(class_names)).tolist(),
                   "tflite": confusion_matrix(labels, t_pred, len(class_names)).tolist()},
        keras=Accuracy(int(np.sum(k_pred == labels)), int(len(labels)), images, tuple(chose)),
        tflite=Accuracy(int(np.sum(t_pred == labels)), int(len(labels)), images, tuple(chose)),
        by_confidence=by_confidence(keras, k_pred, t_pred, confident_level),
    )


def resize_finding(study: list[dict], recorded: list[str]) -> str:
    """Plain-language split of the Keras-vs-TFLite gap into resize and quantization parts."""
    if not study:
        return "Resize study not run (--no-resize-study)."
    rows = {(r["variant"], r["resize"]): r for r in study}
    ref = next((v for v, _ in rows if v.startswith("float32")), None)
    lines = []
    if ref:
        tf_row, pil_row = rows[(ref, "tf-bilinear")], rows[(ref, "pillow-bilinear")]
        lines.append(
            f"Resize (float32 through edge, no quantization): {tf_row['disagreements']} "
            f"top-1 disagreements with Keras using tf-bilinear (mean |dp| "
            f"{tf_row['mean_abs_prob_diff']:.4f}) vs {pil_row['disagreements']} using "
            f"pillow-bilinear (mean |dp| {pil_row['mean_abs_prob_diff']:.4f})."
        )
    for variant in dict.fromkeys(v for v, _ in rows):
        if variant == ref:
            continue
        q = rows[(variant, "tf-bilinear")]
        extra = f" ({q['disagreements'] - rows[(ref, 'tf-bilinear')]['disagreements']:+d} " \
                "vs float32 at the same resize: the quantization gap)" if ref else ""
        lines.append(
            f"Quantization ({variant}, tf-bilinear): {q['disagreements']} disagreements, mean "
            f"|dp| {q['mean_abs_prob_diff']:.4f}{extra}."
        )
    for variant in dict.fromkeys(v for v, _ in rows):
        best = max(("tf-bilinear", "pillow-bilinear"),
                   key=lambda r: (rows[(variant, r)]["agreement"],
                                  -rows[(variant, r)]["mean_abs_prob_diff"]))
        lines.append(f"Closest resize for {variant}: {best} "
                     f"(agreement {rows[(variant, best)]['agreement']:.2%}).")
    lines.append(f"The exported model(s) record resize = {', '.join(sorted(set(recorded)))}.")
    return "\n".join(f"- {line}" for line in lines)


def build_report(config, split, keras_sha256: str, rows: list, study: list[dict],
                 choice=None, images: dict | None = None) -> dict:
    """parity.json's document; `rows` are export.parity.VariantResult, one per checked model;
    `choice` (export.choose.ModelChoice) says why this Keras model was converted; `images`
    (export.parity.parity_images) identifies the images each row's `predictions` follow."""
    return {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_json(),
        "keras_model": str(config.model),
        "model_choice": choice.to_json() if choice is not None else None,
        "keras_sha256": keras_sha256,
        "class_names": list(split.class_names),
        "dataset_sha256": split.dataset_sha256,
        "split_seed": split.seed,
        "thresholds": {"max_accuracy_drop_points": config.max_accuracy_drop,
                       "min_agreement": config.min_agreement,
                       "confident_level": config.confident_level},
        "parity_images": images,
        "variants": [row.to_json() for row in rows],
        "resize_study": {"set": "validation_folder", "rows": study,
                         "finding": resize_finding(study, [row.resize for row in rows])},
        "passed": all(row.passed for row in rows),
    }


def _accuracy(s: dict, who: str) -> str:
    """A model's own accuracy on a set with its 95% interval, or the bare figure from a report
    written before intervals were recorded."""
    raw = s.get(who)
    return Accuracy.from_json(raw).short() if raw else pct(s[f"{who}_accuracy"])


def chose_text(s: dict) -> str:
    """What the images of a set chose about the Keras model, in words."""
    raw = s.get("keras")
    if not raw:
        return "what they chose was not recorded"
    return ("they chose nothing about this model" if not raw["chose"]
            else "they also chose its " + " and ".join(raw["chose"]))


def _summary(report: dict) -> list[str]:
    out = ["| variant | size | latency (1 image) | test acc Keras (n; 95% CI) | test acc TFLite "
           "(n; 95% CI) | diff (points) | agreement (validation folder) | max abs dp | passed |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in report["variants"]:
        t, v = r["sets"]["test"], r["sets"]["validation_folder"]
        out.append(
            f"| {r['variant']} | {r['size_bytes'] / 1e6:.2f} MB | {r['latency_ms']:.1f} ms | "
            f"{_accuracy(t, 'keras')} | {_accuracy(t, 'tflite')} | "
            f"{t['accuracy_diff_points']:+.2f} | {pct(v['agreement'])} | "
            f"{v['max_prob_diff']:.4f} | {'yes' if r['passed'] else '**NO**'} |"
        )
    return out


def _details(row: dict, class_names: list[str]) -> list[str]:
    out = [f"### {row['variant']} ({row['path']}, resize {row['resize']})", ""]
    calibration = row.get("calibration")
    if calibration:
        corrected = calibration.get("bias_correction_images", 0)
        out += [f"Calibrated on {calibration['images']} training images (seed "
                f"{calibration['seed']}); bias correction "
                + (f"measured on {corrected} of them." if corrected else "off."), ""]
    if row.get("from_this_keras_model") is False:
        out += ["Warning: this file was exported from another Keras model than the one compared "
                "here (keras_sha256 differs).", ""]
    out += ["| gate check | value | limit | passed |", "|---|---|---|---|"]
    out += [f"| {c['name']} | {c['value']:.4g} | {c['limit']:.4g} | "
            f"{'yes' if c['passed'] else '**NO**'} |" for c in row["checks"]]
    out.append("")
    for name, s in row["sets"].items():
        out += [f"**{name}** ({s['n']} images: {SET_IMAGES.get(name, name)}; "
                f"{chose_text(s)}): Keras {_accuracy(s, 'keras')}, TFLite "
                f"{_accuracy(s, 'tflite')} (accuracy, correct/n; Wilson 95% interval), "
                f"agreement {pct(s['agreement'])} "
                f"({s['disagreements']} disagreements, {s['edge_errors']} edge errors)", "",
                *_by_confidence(s), _changed(s), "",
                "| class | n | Keras | TFLite |", "|---|---|---|---|"]
        out += [f"| {c} | {p['n']} | {pct(p['keras_accuracy'])} | {pct(p['tflite_accuracy'])} |"
                for c, p in s["per_class"].items()]
        out += ["", "Confusion (rows: true, columns: predicted as " + ", ".join(class_names) + "):"]
        for who in ("keras", "tflite"):
            out.append(f"- {who}: {s['confusion'][who]}")
        out.append("")
    return out


# The images behind each set of parity.json, in words.
SET_IMAGES = {"test": "the test split",
              "validation_folder": "the whole validation folder, validation split + test split"}


def _by_confidence(s: dict) -> list[str]:
    split = s.get("by_confidence")
    if not split:
        return []
    sure, unsure = split["confident"], split["unsure"]
    return [f"Agreement where Keras is confident (top-1 >= {split['level']:.2f}): "
            f"{pct(sure['agreement'])} ({sure['disagreements']} of {sure['n']} images changed); "
            f"where it is unsure: {unsure['disagreements']} of {unsure['n']} changed (one-sided "
            f"p = {unsure['p_beyond_coin_tosses']:.3g} that coin tosses give as many).", ""]


def _changed(s: dict) -> str:
    changed, (lo, hi) = s["changed_verdicts"], s["accuracy_diff_95ci_points"]
    return (f"Verdicts changed by TFLite: {changed['keras_right_tflite_wrong']} images Keras got "
            f"right and TFLite wrong, {changed['tflite_right_keras_wrong']} the reverse; "
            f"accuracy difference {s['accuracy_diff_points']:+.2f} points, 95% interval "
            f"{lo:+.2f} to {hi:+.2f}.")


def _study(report: dict) -> list[str]:
    study = report["resize_study"]
    out = ["## Where the gap comes from (validation folder)", ""]
    if study["rows"]:
        out += ["| model | resize | TFLite acc | diff (points) | agreement | disagreements |"
                " max abs dp | mean abs dp |", "|---|---|---|---|---|---|---|---|"]
        out += [f"| {r['variant']} | {r['resize']} | {pct(r['tflite_accuracy'])} | "
                f"{r['accuracy_diff_points']:+.2f} | {pct(r['agreement'])} | "
                f"{r['disagreements']} | {r['max_prob_diff']:.4f} | "
                f"{r['mean_abs_prob_diff']:.4f} |" for r in study["rows"]]
        out.append("")
    return out + [study["finding"], ""]


def _agreement_rule(th: dict) -> str:
    level = th.get("confident_level")
    if level is None:
        return f"Top-1 agreement >= {th['min_agreement']:.0%} on the validation folder"
    return (f"Top-1 agreement >= {th['min_agreement']:.0%} on the validation-folder images "
            f"where Keras is confident (top-1 probability >= {level:.2f}), where quantization "
            "noise rarely tips an answer over; on the unsure images, whose near ties it may tip "
            "either way, no more answers may change than fair coin tosses would give (fails "
            "when over half change, one-sided binomial p < 0.05)")


def to_markdown(report: dict) -> str:
    th = report["thresholds"]
    lines = [
        "# Parity: Keras vs TFLite through edge",
        "",
        f"Keras model `{report['keras_model']}` (sha256 `{report['keras_sha256'][:16]}...`), "
        f"dataset sha256 `{report['dataset_sha256']}`, split seed {report['split_seed']}; "
        f"{report['created']}.",
        "(a) the Keras model on the training pipeline's pixels; (b) the .tflite through "
        "`edge.Classifier.classify_paths` (edge's decode, resize and runtime).",
        *choice_section(report.get("model_choice")),
        f"Gate (is the device model no worse?): the TFLite model may not lose more than "
        f"{th['max_accuracy_drop_points']} points of accuracy to Keras on the validation folder, "
        f"nor on the test split when the loss is beyond chance there (its paired 95% interval "
        f"wholly below 0; one test image is 0.52 points); a gain never fails. "
        f"{_agreement_rule(th)}: **{'PASSED' if report['passed'] else 'FAILED'}**.",
        "",
        *_summary(report),
        "",
        *bundle_section(report.get("bundle")),
        *pictures_section(report),
        *_study(report),
        "## Details",
        "",
    ]
    for row in report["variants"]:
        lines += _details(row, report["class_names"])
    return "\n".join(lines)


def console_lines(report: dict) -> list[str]:
    """One line per checked model, for the terminal: the numbers the gate looked at."""
    lines = []
    for row in report["variants"]:
        failed = [c["name"] for c in row["checks"] if not c["passed"]]
        status = "passed" if not failed else "FAILED: " + "; ".join(failed)
        t, v = row["sets"]["test"], row["sets"]["validation_folder"]
        lo, hi = t["accuracy_diff_95ci_points"]
        lines.append(
            f"{row['variant']}: test split {_accuracy(t, 'tflite')} vs Keras "
            f"{_accuracy(t, 'keras')} ({t['accuracy_diff_points']:+.2f} points, "
            f"95% interval {lo:+.2f} to {hi:+.2f};"
            f" {t['changed_verdicts']['keras_right_tflite_wrong']} lost, "
            f"{t['changed_verdicts']['tflite_right_keras_wrong']} gained), agreement "
            f"{v['agreement']:.2%} on "
            f"{v['n']} images, {row['size_bytes'] / 1e6:.2f} MB, {row['latency_ms']:.1f} ms: "
            f"{status}"
        )
    return lines


_INT_LIST = re.compile(r"\[\n\s*-?\d+(?:,\n\s*-?\d+)*\n\s*\]")


def compact_int_lists(text: str) -> str:
    """Indented JSON with each list of integers on one line: the per-image predictions are a
    thousand numbers a set, one per line otherwise (JSON strings hold no raw newline, so text
    is never touched)."""
    return _INT_LIST.sub(lambda m: re.sub(r"\s+", "", m.group(0)), text)


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "parity.json", out / "parity.md"
    json_path.write_text(compact_int_lists(json.dumps(report, indent=1)) + "\n")
    md_path.write_text(to_markdown(report))
    return json_path, md_path
