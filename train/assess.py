"""`make assess`: model5's recipe scored on every image of the dataset by a model that never saw it.

The 192 test images give model5's accuracy within about +-2.5 points. Because model5's base is
frozen, its recipe can be refit cheaply: k folds over all the images of the split (training,
validation and test together), each fold scored by a head fit on the others, with the L2
penalty chosen again inside those others by the same cross-validation rule (nested), so no
image chose anything about the head that scores it. The result is the recipe's accuracy on new
photos of the same kind with an interval about half as wide. It describes the recipe, not the
one bundled file: that file was fit on the training images only.

Cost: one forward pass per image and its mirror (about 2 minutes for 3,000 images on 2 cores),
then folds x (penalties x (folds - 1) + 1) head fits (65 for 5 folds: a few seconds each).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.stats import Accuracy
from train.errors import PawliteError
from train.feature_head import (
    FOLDS,
    L2_GRID,
    build_model5,
    cross_validate,
    fit_head,
    make_folds,
    pooled_features,
)
from train.split import SPLIT_NAMES, Split

FORMAT = "pawlite-assess/1"


def nested_predictions(features, mirrored, labels, folds, num_classes: int,
                       echo: Callable[[str], None] = print) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold predictions, each fold's penalty chosen by CV on the other folds only."""
    labels, folds = np.asarray(labels), np.asarray(folds)
    predicted = np.zeros(len(labels), int)
    chosen = []
    for fold in np.unique(folds):
        rest, held = folds != fold, folds == fold
        inner = cross_validate(features[rest], mirrored[rest], labels[rest], folds[rest],
                               num_classes)
        head = fit_head(np.concatenate([features[rest], mirrored[rest]]),
                        np.concatenate([labels[rest], labels[rest]]), num_classes, inner.chosen)
        predicted[held] = head.probabilities(features[held]).argmax(axis=1)
        chosen.append(inner.chosen)
        right = int((predicted[held] == labels[held]).sum())
        echo(f"assess: fold {fold + 1} of {len(np.unique(folds))}: L2 {inner.chosen:g}, "
             f"{right}/{int(held.sum())} right")
    return predicted, chosen


def assess(split: Split, weights: Path, out: Path, folds: int = FOLDS,
           echo: Callable[[str], None] = print) -> dict:
    """Score every image of `split` out of fold; write and return `assess.json`."""
    from train.dataset import load_arrays

    start = time.perf_counter()
    arrays = [load_arrays(split, name) for name in SPLIT_NAMES]
    images = np.concatenate([x for x, _ in arrays])
    labels = np.concatenate([y for _, y in arrays])
    if folds < 3 or len(labels) < 2 * folds:
        raise PawliteError(f"{folds}-fold assessment of {len(labels)} images: use at least 3 "
                           "folds (the penalty is chosen by cross-validation inside the others) "
                           "and at least two images per fold.")
    fold_of = make_folds(labels, folds, split.seed)
    model = build_model5(tuple(split.image_size), weights, len(split.class_names))
    echo(f"assess: features of {len(labels)} images and their mirror images ...")
    features = pooled_features(model, images)
    mirrored = pooled_features(model, images[:, :, ::-1])
    predicted, chosen = nested_predictions(features, mirrored, labels, fold_of,
                                           len(split.class_names), echo)
    right = predicted == labels
    accuracy = Accuracy(int(right.sum()), len(labels),
                        f"{folds}-fold assessment over all {len(labels)} images")
    per_class = {name: Accuracy(int(right[labels == c].sum()), int((labels == c).sum()),
                                f"{name} images of the assessment").to_json()
                 for c, name in enumerate(split.class_names)}
    result = {
        "format": FORMAT,
        "recipe": "model5 (train/feature_head.py)",
        "folds": folds,
        "fold_seed": split.seed,
        "fold_of": [int(f) for f in fold_of],
        "order": "split.json's train, validation, test lists, in that order",
        "l2_grid": list(L2_GRID),
        "chosen_l2_per_fold": chosen,
        "accuracy": accuracy.to_json(),
        "per_class": per_class,
        "seconds": round(time.perf_counter() - start, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "assess.json").write_text(json.dumps(result, indent=1) + "\n")
    echo(f"model5's recipe: {accuracy.text()}")
    for name, raw in per_class.items():
        echo(f"  {name}: {Accuracy.from_json(raw).short()}")
    echo(f"assess: {result['seconds']:.0f} s; wrote {out / 'assess.json'}")
    return result


def main(argv: list[str] | None = None) -> int:
    import typer

    app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0])

    @app.command()
    def run(
        split_path: Path = typer.Option(Path("artifacts/split.json"), "--split",
                                        help="The run's split.json."),
        base_weights: str = typer.Option("imagenet", help="MobileNetV2 weights, as for train."),
        out: Path = typer.Option(Path("artifacts"), help="Where assess.json goes."),
        folds: int = typer.Option(FOLDS, min=3, help="Number of folds."),
    ) -> None:
        from train.models import resolve_base_weights

        try:
            weights = resolve_base_weights(base_weights)
            assess(Split.load(split_path), weights.path, out, folds)
        except PawliteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return app(argv, standalone_mode=True) or 0


if __name__ == "__main__":
    sys.exit(main())
