"""`python -m train`: reproduce the study. A thin layer: build a TrainConfig, call the API.

Exit codes, as every pawlite command: 0 done; 1 a user error (`error: <message>` on stderr, no
traceback); 2 a usage error from the option parser."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from train.config import (
    DEFAULT_COLLAPSE_RETRIES,
    DEFAULT_SEED,
    OFFICIAL_DATA_URL,
    TrainConfig,
)
from train.errors import PawliteError
from train.seeds import parse_seeds

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help=__doc__.split("\n\n")[0])


def parse_models(text: str) -> tuple[int, ...]:
    try:
        models = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give model numbers like 1,2,3,4") from None
    if not models or any(m not in (1, 2, 3, 4, 5) for m in models):
        raise typer.BadParameter(f"{text!r}: models are numbered 1 to 5 (5 is beyond the study)")
    return models


@app.command()
def main(
    models: str = typer.Option(
        "1,2,3,4", help="Which models to train: the study's 1-4, and 5 (beyond the study: a "
        "linear head on the frozen MobileNetV2, its penalty chosen by cross-validation inside "
        "the training images). 5 alone adds model5 to the earlier run in --out.",
    ),
    epochs: int = typer.Option(20, min=1, help="Epochs per model (the study uses 20)."),
    seed: int = typer.Option(
        DEFAULT_SEED, help="Seed for the split, and for training unless --seeds is given."
    ),
    seeds: str = typer.Option(
        None, help="Train each model once per seed, e.g. 1337,1,2; the report gives mean and "
        "range. The split stays the one --seed draws.",
    ),
    collapse_retries: int = typer.Option(
        DEFAULT_COLLAPSE_RETRIES, min=0,
        help="Restart a run that collapsed to a constant predictor with the next seed, at most "
        "this many times per seed.",
    ),
    base_weights: str = typer.Option(
        "imagenet",
        help="MobileNetV2 weights for models 4 and 5: 'imagenet' (download) or a .h5 path.",
    ),
    data_url: str = typer.Option(OFFICIAL_DATA_URL, help="Dataset zip URL (file:// works)."),
    data_dir: Path = typer.Option(None, help="An extracted dataset folder instead of --data-url."),
    out: Path = typer.Option(Path("artifacts"), help="Where models, plots and reports go."),
    skip_bad: bool = typer.Option(False, help="Train without unreadable files (recorded)."),
    prepare_only: bool = typer.Option(False, help="Fetch, scan and write split.json only."),
) -> None:
    """Reproduce the four-model cats-vs-dogs study (and model5 beyond it) under --out."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        seed_list = parse_seeds(seeds) if seeds is not None else ()
    except PawliteError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from None
    config = TrainConfig(
        data_url=data_url,
        data_dir=data_dir,
        base_weights=base_weights,
        out=out,
        epochs=epochs,
        seed=seed,
        seeds=seed_list,
        collapse_retries=collapse_retries,
        models=parse_models(models),
        skip_bad=skip_bad,
    )
    try:
        run(config, prepare_only=prepare_only)
    except PawliteError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def run(config: TrainConfig, prepare_only: bool = False) -> None:
    if config.models == (5,) and not prepare_only:
        from train.extend import add_model5

        add_model5(config)
        return
    from train.prepare import prepare

    split = prepare(config)
    if prepare_only:
        return
    from train.study import run_study

    run_study(config, split)
