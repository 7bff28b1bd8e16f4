"""Configuration of the serverless handler, read once per container from environment variables.

| Variable | Default | Meaning |
| --- | --- | --- |
| `MODEL_PATH` | bundled model | the .tflite model to load (`--model`) |
| `LABELS_PATH` | from the model | class names, one per line (`--labels`) |
| `MEAN`, `STD` | from the model | `(pixel - MEAN) / STD`, float models that do not say |
| `CROP` | `none` | `center`: crop to the model's aspect ratio before resizing |
| `RESIZE` | from the model | how photos are scaled to the input (`--resize`) |
| `THREADS` | every CPU core | as `--threads`: half of them for the interpreter |
| `OUTPUT_PREFIX` | `pawlite-results/` | results go to `<prefix><key>.json`; never classified |
| `OUTPUT_BUCKET` | source bucket | bucket for results and manifests |
| `MAX_OBJECT_BYTES` | `20971520` | larger objects: `object-too-large` error, not downloaded |
| `TOP_K` | `2` | (label, probability) pairs per result |
| `THRESHOLD` | unset | below this top probability (0 to 1) the label is `uncertain` |
| `BATCH_SIZE` | `16` | objects per chunk; the time budget is checked between chunks |
| `DOWNLOAD_WORKERS` | `8` | parallel S3 requests (result look-ups, downloads, writes) |
| `SAFETY_MARGIN_MS` | `10000` | no new chunk when less than this + 1.5 x slowest chunk remains |
| `LIST_PAGE_SIZE` | `1000` | keys per listing request (batch requests) |
| `LOG_LEVEL` | `INFO` | level of the `edge` loggers (one summary line per invocation at INFO) |

The model's variables are `edge.options.ModelOptions`'s, the same options as `edge-classify`'s
flags. The S3 endpoint, region and credentials come from the standard AWS variables (`AWS_REGION`,
`AWS_ENDPOINT_URL_S3` for an S3-compatible store, the Lambda role's credentials).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import EdgeError, UsageError
from edge.options import ModelOptions

DEFAULT_OUTPUT_PREFIX = "pawlite-results/"


class ConfigError(EdgeError):
    """An environment variable has a value the handler cannot use: a deployment error."""


@dataclass(frozen=True)
class ServerlessConfig(ModelOptions):
    """What the handler does, independent of any one event: the model options (keyword-only)
    and how objects are read and written."""

    output_prefix: str = DEFAULT_OUTPUT_PREFIX
    output_bucket: str | None = None
    max_object_bytes: int = 20 * 1024 * 1024
    top_k: int = 2
    threshold: float | None = None
    batch_size: int = 16
    download_workers: int = 8
    safety_margin_ms: int = 10_000
    list_page_size: int = 1000
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerlessConfig:
        """Build the config from `env` (default `os.environ`); bad values raise ConfigError."""
        env = os.environ if env is None else env
        if "NUM_THREADS" in env:
            raise ConfigError(f"NUM_THREADS={env['NUM_THREADS']!r} is not read: the thread count "
                              "is THREADS, as edge-classify's --threads (THREADS=4 runs 4 "
                              "decoders and gives the interpreter 2). Rename the variable.")
        prefix = env.get("OUTPUT_PREFIX", DEFAULT_OUTPUT_PREFIX)
        if not prefix:
            raise ConfigError("OUTPUT_PREFIX must not be empty: results would trigger the "
                              "function again. Use e.g. OUTPUT_PREFIX=pawlite-results/.")
        try:
            model_options = cls.values_from_env(env)
        except UsageError as e:
            raise ConfigError(str(e)) from None
        return cls(
            **model_options,
            output_prefix=prefix,
            output_bucket=env.get("OUTPUT_BUCKET") or None,
            max_object_bytes=_number(env, "MAX_OBJECT_BYTES", int, cls.max_object_bytes, 1),
            top_k=_number(env, "TOP_K", int, cls.top_k, 1),
            threshold=_threshold(env),
            batch_size=_number(env, "BATCH_SIZE", int, cls.batch_size, 1),
            download_workers=_number(env, "DOWNLOAD_WORKERS", int, cls.download_workers, 1),
            safety_margin_ms=_number(env, "SAFETY_MARGIN_MS", int, cls.safety_margin_ms, 0),
            list_page_size=min(1000, _number(env, "LIST_PAGE_SIZE", int, cls.list_page_size, 1)),
            log_level=_log_level(env.get("LOG_LEVEL", "INFO")),
        )


def _threshold(env: Mapping[str, str]) -> float | None:
    value = _number(env, "THRESHOLD", float, None, float("-inf"))
    if value is not None and not 0 <= value <= 1:  # also nan and inf
        raise ConfigError(f"THRESHOLD={env['THRESHOLD']!r} must be a probability between 0 "
                          "and 1 (e.g. 0.8), or unset.")
    return value


def _log_level(text: str) -> str:
    level = text.strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL={text!r}: use DEBUG, INFO, WARNING or ERROR.")
    return level


def _number(env: Mapping[str, str], name: str, kind: type, default, minimum):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a valid {kind.__name__}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r} must be at least {minimum}.")
    return value
