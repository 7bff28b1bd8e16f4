"""Is this the study's dataset? Only then do the study's numbers belong beside ours.

A user who trains on their own folders (ten classes, say) gets a report about that dataset:
comparing it with the study's "~97%" would be a claim about different data. The study's data
is recognised by the archive's sha256, or, for a folder or another copy of the same files, by
its layout: classes cats and dogs with 1,000 + 1,000 training and 500 + 500 validation images.
"""

from __future__ import annotations

from dataclasses import dataclass

from train.explore import label_counts
from train.split import Split

# The official archive is recognised by its layout (its hash is not recorded here yet); this is
# ../shared's rebuild of it: the same image bytes in a different zip container.
KNOWN_SHA256 = {
    "d4eeb21657f12f096e1281b69d6ef8848436731340d42a8d91c572325e18ffd2":
        "the offline rebuild of the official archive (../shared)",
}
STUDY_CLASSES = ("cats", "dogs")
STUDY_COUNTS = {"train": 1000, "validation": 500}


@dataclass(frozen=True)
class DatasetIdentity:
    """Whether the run's data is the study's, and the evidence for the answer."""

    is_study: bool
    reason: str

    def to_json(self) -> dict:
        return {"is_study": self.is_study, "reason": self.reason}


def _layout_matches(split: Split) -> bool:
    if tuple(split.class_names) != STUDY_CLASSES:
        return False
    counts = label_counts(split)
    validation = {c: counts["validation"][c] + counts["test"][c] for c in STUDY_CLASSES}
    return (all(n == STUDY_COUNTS["train"] for n in counts["train"].values())
            and all(n == STUDY_COUNTS["validation"] for n in validation.values()))


def identify(split: Split) -> DatasetIdentity:
    """Hash first (exact), then layout (a folder or a re-packed copy of the same files)."""
    if split.dataset_sha256 in KNOWN_SHA256:
        return DatasetIdentity(True, f"archive sha256 is {KNOWN_SHA256[split.dataset_sha256]}")
    if _layout_matches(split):
        return DatasetIdentity(True, "layout matches the study's: cats/dogs, 1,000 + 1,000 "
                                     "training and 500 + 500 validation images")
    classes = ", ".join(split.class_names)
    return DatasetIdentity(False, f"not the study's dataset (classes {classes}; neither a "
                                  "known archive sha256 nor the study's cats/dogs "
                                  "1,000/1,000 + 500/500 layout)")
