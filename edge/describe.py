"""`edge-classify --info MODEL`: what edge will feed a model and how it reads the answer.

A preprocessing mismatch gives confident, wrong labels rather than an error, so the one way
to debug it is to see every decision of `edge.modelspec` with the place it came from, and the
kernels that will run it (a run without XNNPACK rounds int8 differently).
"""

from __future__ import annotations

from edge.classifier import open_classifier
from edge.config import ClassifyConfig


def describe_model(config: ClassifyConfig) -> list[tuple[str, str]]:
    """(field, value) pairs for the model `config` names, loaded with its options and the
    interpreter threads a run with the same --threads would use."""
    classifier = open_classifier(config, config.exif_rotate)
    rows = classifier.spec.describe()
    rows.append(("runtime", classifier.kernels.describe()))
    return rows


def format_description(rows: list[tuple[str, str]]) -> str:
    width = max(len(field) for field, _ in rows)
    return "".join(f"{field:<{width}}  {value}\n" for field, value in rows)
