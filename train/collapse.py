"""Telling a run that trained from one that collapsed to a constant predictor, and what then.

model1 feeds raw 0..255 pixels into ReLU convolutions, as the study does. One large early
update can switch every ReLU off; from then on no gradient reaches the weights and the network
answers every image with the class prior: training accuracy at the majority baseline, loss at
the prior's entropy (ln 2 for two balanced classes). Which seed does this depends on float
rounding, so it changes between CPUs. Such a run says nothing about the
architecture: it is detected after `WINDOW` epochs, stopped, and restarted with another seed.

Rule: a run is collapsed at the end of an epoch when, over the last `WINDOW` epochs (never
epoch 1, whose running mean holds the initial loss), training accuracy stayed within
`ACCURACY_MARGIN` of the majority baseline, and either the loss stayed within `LOSS_MARGIN` of
the constant predictor's or the model's logits barely vary across images (`OUTPUT_SPREAD`).
A NaN loss is a collapse at once. The two-sided test keeps slow learners out: the study's
model2 sat at 53-56% and loss 0.683-0.690 for epochs 2-5 of the committed run, yet its
outputs varied and its loss was 0.01 under ln 2 in two of those epochs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

WINDOW = 3
ACCURACY_MARGIN = 0.03
LOSS_MARGIN = 0.002
OUTPUT_SPREAD = 0.01
RAW_PIXEL_MODELS = ("model1", "model2")


@dataclass(frozen=True)
class Collapse:
    """Why a run was called collapsed: the numbers the rule looked at, and the likely cause."""

    epoch: int
    train_accuracy: float
    loss: float
    constant_loss: float
    majority_accuracy: float
    output_spread: float | None
    dead_units: int | None
    hidden_units: int | None
    cause: str

    def to_json(self) -> dict:
        return asdict(self)


def constant_loss(train_counts: dict[str, int]) -> float:
    """Cross-entropy of the best constant answer (the class prior): ln(classes) when balanced."""
    total = sum(train_counts.values())
    return -sum(n / total * math.log(n / total) for n in train_counts.values() if n)


def next_seed(collapsed: int, taken: set[int]) -> int:
    """The retry seed: the smallest integer above `collapsed` not in `taken`.

    `taken` holds the requested seeds and the seeds this model already ran, so a retry never
    repeats a run nor borrows a seed that is reported on its own.
    """
    seed = collapsed + 1
    while seed in taken:
        seed += 1
    return seed


def accuracy_flat(accuracy: list[float], majority: float) -> bool:
    if len(accuracy) < WINDOW + 1:
        return False
    return all(abs(a - majority) <= ACCURACY_MARGIN for a in accuracy[-WINDOW:])


def loss_at_prior(loss: list[float], constant: float) -> bool:
    return len(loss) >= WINDOW + 1 and all(abs(v - constant) <= LOSS_MARGIN for v in loss[-WINDOW:])


def probe(model, images: np.ndarray) -> tuple[float, int | None, int | None]:
    """(output spread, dead units, hidden units) of `model` on `images`.

    The spread is the largest range across images of any class's logit, taken relative to
    each image's mean logit: 0 for a network that ignores its input. Probabilities would not
    do: a saturated but live model1 (raw pixels) also gives every image the same 0/1. A dead
    unit of the last hidden Dense layer outputs 0 for every image.
    """
    import keras

    x = images.astype("float32")
    logits = np.asarray(model.predict(x, verbose=0), np.float64)
    centred = logits - logits.mean(axis=1, keepdims=True)
    spread = float(np.nan_to_num(np.ptp(centred, axis=0).max(), nan=0.0))
    hidden = model.layers[-2]
    if not isinstance(hidden, keras.layers.Dense):
        return spread, None, None
    features = keras.Model(model.inputs, hidden.output).predict(x, verbose=0)
    return spread, int((features.max(axis=0) <= 0).sum()), int(features.shape[1])


def likely_cause(name: str, loss: float, constant: float, dead: int | None,
                 hidden: int | None) -> str:
    """A one-sentence diagnosis from the probe; the raw-pixel remark only where it applies."""
    if math.isnan(loss):
        return ("the loss became NaN: the weights diverged (too large a step for these inputs), "
                "so the model predicts one class")
    if dead is not None and hidden and dead == hidden:
        text = (f"all {hidden} units of the last hidden layer output 0 for every image (dead "
                "ReLUs): no gradient reaches the earlier weights")
    elif dead is not None:
        text = (f"the model gives the same answer for every image ({dead} of {hidden} units "
                "of the last hidden layer are dead ReLUs)")
    else:
        text = "the model gives the same answer for every image"
    if abs(loss - constant) <= LOSS_MARGIN:
        text += ", and its output bias settled at the class prior"
    else:
        text += f"; its loss {loss:.4f} is above the constant predictor's {constant:.4f}"
    if name in RAW_PIXEL_MODELS:
        text += (f"; {name} feeds raw 0..255 pixels to ReLU convolutions (as the study does), "
                 "so one large early update can switch them all off, depending on the seed "
                 "and the CPU's float rounding")
    return text


def check(name: str, history: dict[str, list[float]], majority: float, constant: float,
          model=None, images: np.ndarray | None = None) -> Collapse | None:
    """The rule above applied to the epochs so far; `model`/`images` feed the output probe."""
    loss, accuracy = history["loss"], history["accuracy"]
    epoch = len(loss)
    if not loss:
        return None
    if math.isnan(loss[-1]):
        return Collapse(epoch, accuracy[-1], loss[-1], constant, majority, None, None, None,
                        likely_cause(name, loss[-1], constant, None, None))
    if not accuracy_flat(accuracy, majority):
        return None
    spread = dead = hidden = None
    if model is not None and images is not None and len(images):
        spread, dead, hidden = probe(model, images)
    at_prior = loss_at_prior(loss, constant)
    if not at_prior and (spread is None or spread >= OUTPUT_SPREAD):
        return None
    return Collapse(epoch, accuracy[-1], loss[-1], constant, majority, spread, dead, hidden,
                    likely_cause(name, loss[-1], constant, dead, hidden))
