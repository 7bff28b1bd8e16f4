"""How far a model's confidence can be trusted: reliability bins and expected calibration error.

A device user reads the confidence edge-classify prints as "how likely this is right". Binning
the top-1 confidence and comparing each bin's mean confidence with its accuracy shows whether
that reading holds, and whether int8 changed it. The bins are equal-width from 1/k (the lowest
top-1 confidence k classes allow; 0.5 for cats vs dogs) to 1, so that none is empty by
construction.
"""

from __future__ import annotations

import numpy as np

BINS = 10


def bin_edges(num_classes: int, bins: int = BINS) -> np.ndarray:
    return np.linspace(1.0 / num_classes, 1.0, bins + 1)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> dict:
    """Per-bin count, mean confidence and accuracy, and the expected calibration error
    ECE = sum over bins of (bin count / n) * |accuracy - mean confidence|.

    Rows with NaN (images edge could not read) are left out. A confidence equal to a bin's
    upper edge belongs to that bin; the lowest edge belongs to the first bin.
    """
    probs, labels = np.asarray(probs, float), np.asarray(labels)
    ok = ~np.isnan(probs).any(axis=1)
    probs, labels = probs[ok], labels[ok]
    edges = bin_edges(probs.shape[1], bins)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        members = index == b
        n = int(members.sum())
        row = {"low": float(edges[b]), "high": float(edges[b + 1]), "n": n,
               "confidence": float(confidence[members].mean()) if n else None,
               "accuracy": float(correct[members].mean()) if n else None}
        if n:
            ece += n / len(labels) * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return {"n": int(len(labels)), "ece": float(ece), "bins": rows}
