"""Which of the model's labels a class folder stands for (`edge-classify --eval`).

People name folders "Cats", "golden_retriever" or "hot dog" for labels "cats",
"golden retriever" and "hotdog, hot dog, red hot" (ImageNet's comma-separated synonyms).
A folder matches a label by the first rule that finds any: the exact label; then the name
with case, "_"/"-" and repeated spaces ignored, against the label or one of its synonyms;
then the same with a plural last word made singular ("cats" = "cat"). Two labels at the same
rule, or two folders for one label, are refused: a guess there would mislabel every image.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from edge.errors import UsageError

_LISTED = 20


def normalize(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").casefold().split())


def singular(name: str) -> str:
    """The normalized name with its last word made singular, crudely but the same on both
    sides of a comparison, which is all matching needs."""
    words = normalize(name).split(" ")
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        last = last[:-1]
    return " ".join([*words[:-1], last])


def synonyms(label: str) -> list[str]:
    return [part for part in (s.strip() for s in label.split(",")) if part] or [label]


def match_folders(folders: Sequence[str], labels: Sequence[str]) -> dict[str, str]:
    """{folder name: label} for every folder; UsageError naming the folder and the labels to
    choose from when one matches none or several, or two folders match one label."""
    matched: dict[str, str] = {}
    for folder in folders:
        hits = [label for label in labels if label == folder]
        for rule in (normalize, singular):
            if hits:
                break
            key = rule(folder)
            hits = [label for label in labels
                    if key == rule(label) or any(key == rule(s) for s in synonyms(label))]
        if len(set(hits)) > 1:
            raise UsageError(f"the class folder {folder!r} matches several of the model's "
                             f"labels ({', '.join(hits)}): rename it to one of them exactly.")
        if not hits:
            raise UsageError(_unknown(folder, labels))
        matched[folder] = hits[0]
    by_label: dict[str, list[str]] = {}
    for folder, label in matched.items():
        by_label.setdefault(label, []).append(folder)
    for label, names in by_label.items():
        if len(names) > 1:
            raise UsageError(f"the class folders {', '.join(map(repr, names))} all stand for "
                             f"the label {label!r}: merge them into one folder.")
    return matched


def _unknown(folder: str, labels: Sequence[str]) -> str:
    message = f"the class folder {folder!r} matches none of the model's {len(labels)} labels"
    if len(labels) <= _LISTED:
        message += f": {', '.join(labels)}"
    else:
        names = {normalize(s): label for label in labels for s in synonyms(label)}
        close = difflib.get_close_matches(normalize(folder), list(names), n=5, cutoff=0.5)
        nearest = list(dict.fromkeys(names[c] for c in close))
        message += (f"; the nearest are: {'; '.join(nearest)}" if nearest
                    else f"; the first are: {'; '.join(labels[:_LISTED])}; ...")
        message += " (--info shows where the labels come from)"
    return (message + ". Rename the folder to a label (case, '_' for a space and a plural "
            "do not matter), or pass --labels FILE with the names the model's outputs have.")
