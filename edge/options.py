"""Which model runs and how photos are fed to it: the one definition of those options.

`edge-classify` (a run, --eval, --info), the serverless handler and Python callers share
`ModelOptions`; `edge.classifier.open_classifier` is the one place that builds a Classifier
from it. Each field's metadata names its command-line flag and its environment variable:
the handler reads exactly the variables listed there, and a test checks that the CLI has
exactly those flags, so an option is added by a field here and its typer parameter in
edge/cli.py (DEVELOPERS.md shows the change).

Light on purpose (no numpy, no Pillow): the CLI imports it before any work starts.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from edge.errors import UsageError

CROP_MODES = ("none", "center")
RESIZE_METHODS = ("tf-bilinear", "pillow-bilinear", "asymmetric-bilinear", "antialias")


def parse_numbers(value: float | str | Sequence[float] | None, option: str):
    """One or three finite numbers from the API (float or sequence) or text ("127.5" or
    "123.7,116.3,103.5"); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
    elif isinstance(value, (int, float)):
        parts = [value]
    else:
        parts = list(value)
    try:
        numbers = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise UsageError(f"{option} takes one number or three (one per channel), "
                         f"not {value!r}.") from None
    if len(numbers) not in (1, 3) or not all(math.isfinite(n) for n in numbers):
        raise UsageError(f"{option} takes one number or three (one per channel), not {value!r}.")
    return numbers


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(text: str, name: str) -> str:
        if text not in choices:
            raise UsageError(f"{name} must be one of {', '.join(choices)}, not {text!r}.")
        return text
    return parse


def _count(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {text!r}.") from None
    if value < 1:
        raise UsageError(f"{name} must be at least 1, not {text!r}.")
    return value


def option(flag: str, env: str, parse: Callable[[str, str], object]) -> dict:
    """A ModelOptions field's metadata: its CLI flag, its environment variable, and how the
    text of either becomes the value (parse(text, name), raising UsageError)."""
    return {"flag": flag, "env": env, "parse": parse}


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """`model=None` is the bundled model; `mean`/`std` (one value or three) normalize a float
    model that does not say how (see edge.modelfile.modelspec); `crop`/`resize` how photos are
    fitted to the input (None: the model's own); `threads=None` uses every CPU core: that many
    decoder threads, half as many interpreter threads."""

    model: Path | None = field(default=None, metadata=option(
        "--model", "MODEL_PATH", lambda text, name: Path(text)))
    labels: Path | None = field(default=None, metadata=option(
        "--labels", "LABELS_PATH", lambda text, name: Path(text)))
    mean: tuple[float, ...] | None = field(default=None, metadata=option(
        "--mean", "MEAN", parse_numbers))
    std: tuple[float, ...] | None = field(default=None, metadata=option(
        "--std", "STD", parse_numbers))
    crop: str = field(default="none", metadata=option("--crop", "CROP", _choice(CROP_MODES)))
    resize: str | None = field(default=None, metadata=option(
        "--resize", "RESIZE", _choice(RESIZE_METHODS)))
    threads: int | None = field(default=None, metadata=option("--threads", "THREADS", _count))

    @classmethod
    def option_fields(cls):
        """The fields that are model options (a subclass's own fields are not)."""
        return [f for f in fields(cls) if "flag" in f.metadata]

    @classmethod
    def flags(cls) -> list[str]:
        return [f.metadata["flag"] for f in cls.option_fields()]

    @classmethod
    def env_names(cls) -> list[str]:
        return [f.metadata["env"] for f in cls.option_fields()]

    @classmethod
    def values_from(cls, values: Mapping[str, object], source: str = "flag") -> dict:
        """Field name -> value for the options in `values` (field name -> CLI value or None):
        text is parsed by the field's rule (errors name the `source`: flag or env)."""
        parsed = {}
        for f in cls.option_fields():
            value = values.get(f.name)
            if isinstance(value, str):
                value = value.strip()
                if not value and source == "env":
                    continue
                value = f.metadata["parse"](value, f.metadata[source])
            if value is not None:
                parsed[f.name] = value
        return parsed

    @classmethod
    def values_from_env(cls, env: Mapping[str, str]) -> dict:
        """Field name -> value for the option variables set in `env` (empty means unset)."""
        return cls.values_from({f.name: env.get(f.metadata["env"])
                              for f in cls.option_fields()}, "env")

    def model_options(self) -> ModelOptions:
        """Just the model options of a larger config."""
        return ModelOptions(**{f.name: getattr(self, f.name)
                               for f in ModelOptions.option_fields()})

    def decoder_threads(self) -> int:
        return threads_in_all(self.threads)

    def interpreter_threads(self) -> int:
        return interpreter_threads(self.threads)


def threads_in_all(threads: int | None = None) -> int:
    """--threads, where None means every CPU core: the decoder threads of a run."""
    return threads or os.cpu_count() or 1


def interpreter_threads(threads: int | None = None) -> int:
    """Half of the threads for the interpreter: decoding runs beside inference on the other
    half (see edge.run.pipeline). The one place that split is decided."""
    return max(1, threads_in_all(threads) // 2)


def check_pixels(crop: str | None, resize: str | None, std: tuple[float, ...] | None) -> None:
    """Raise UsageError for a --crop, --resize or --std no model can use."""
    if crop is not None and crop not in CROP_MODES:
        raise UsageError(f"--crop must be one of {', '.join(CROP_MODES)}, not {crop!r}.")
    if resize is not None and resize not in RESIZE_METHODS:
        raise UsageError(f"--resize must be one of {', '.join(RESIZE_METHODS)}, not {resize!r}.")
    if std is not None and not all(s > 0 for s in std):
        raise UsageError("--std must be above 0 (a negative or zero std flips or breaks every "
                         "input value): e.g. --mean 127.5 --std 127.5.")
