"""Seeds as a first-class option: parse `--seeds`, and summarise a model over its seeds.

One seed's number is one draw: the same code can reach 67.5% on one CPU and collapse to 50% on
another. Over several seeds the report can give a mean and a range, and a run on another
machine can be checked against that range instead of against one draw.
"""

from __future__ import annotations

from train.errors import PawliteError


def parse_seeds(text: str) -> tuple[int, ...]:
    """"1337,1,2" -> (1337, 1, 2), order kept (the first is the reported run's seed)."""
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise PawliteError(f"--seeds {text!r}: give integers separated by commas, "
                           "e.g. --seeds 1337,1,2") from None
    if not seeds:
        raise PawliteError("--seeds is empty: give at least one seed, e.g. --seeds 1337")
    if len(set(seeds)) != len(seeds):
        raise PawliteError(f"--seeds {text!r} repeats a seed: each seed is one run")
    if any(s < 0 for s in seeds):
        raise PawliteError(f"--seeds {text!r}: seeds are non-negative integers")
    return seeds


def spread(values: list[float]) -> dict | None:
    """Mean, min, max and the values themselves; None when there is nothing to summarise."""
    if not values:
        return None
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values),
            "values": list(values)}


def kept_val_accuracy(run: dict) -> float:
    """Validation accuracy of the weights a run kept: its last epoch's, or model5's restored."""
    return run["best_val_accuracy"] if "restored_epoch" in run else run["final_val_accuracy"]


def summarise(runs: list[dict], attempts: list[dict]) -> dict:
    """Per model over the requested seeds: only runs that trained enter the numbers."""
    trained = [r for r in runs if r["stopped"] == "completed"]
    return {
        "requested": [r["requested_seed"] for r in runs],
        "runs": [{"requested_seed": r["requested_seed"], "seed": r["seed"],
                  "stopped": r["stopped"], "final_val_accuracy": r["final_val_accuracy"],
                  "kept_val_accuracy": kept_val_accuracy(r),
                  "test_accuracy": r["test_accuracy"]} for r in runs],
        "trained": len(trained),
        "collapses": sum(a["stopped"] == "collapsed" for a in attempts),
        "val_accuracy": spread([kept_val_accuracy(r) for r in trained]),
        "test_accuracy": spread([r["test_accuracy"] for r in trained
                                 if r["test_accuracy"] is not None]),
    }
