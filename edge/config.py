"""The edge runner's configuration: everything one `edge-classify` run depends on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import UsageError

FORMATS = ("csv", "jsonl", "json")
# Kept here (not imported from edge.decode) so the CLI checks options without numpy or Pillow.
CROP_MODES = ("none", "center")
RESIZE_METHODS = ("tf-bilinear", "pillow-bilinear", "asymmetric-bilinear", "antialias")
SORT_MODES = ("copy", "move", "link")
STDOUT = Path("-")


@dataclass(frozen=True)
class ClassifyConfig:
    """Built by the CLI (or by a caller) and handed to `edge.runner.run`.

    `output=None` prints a table on a terminal and CSV when stdout is piped; `Path("-")` is
    stdout. `model=None` is the bundled model; `mean`/`std` (one value or three) normalize
    a float model that does not say how (see edge.modelspec). `threads=None` uses every CPU
    core: that many decoder threads, half as many interpreter threads.
    """

    paths: tuple[Path, ...]
    model: Path | None = None
    labels: Path | None = None
    output: Path | None = None
    format: str | None = None
    top_k: int = 1
    threshold: float | None = None
    sort_into: Path | None = None
    mode: str = "copy"
    dry_run: bool = False
    resume: bool = False
    watch: bool = False
    watch_interval: float = 1.0
    threads: int | None = None
    batch: int = 8
    quiet: bool = False
    recursive: bool = True
    exif_rotate: bool = True
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    crop: str = "none"
    watch_settle: float = 2.0
    profile: bool = False
    overwrite: bool = False
    resize: str | None = None

    def output_format(self) -> str | None:
        """csv/jsonl/json from --format, else from the output file's extension."""
        if self.format:
            return self.format
        if self.output is None or self.output == STDOUT:
            return None
        suffix = self.output.suffix.lower().lstrip(".")
        return {"ndjson": "jsonl"}.get(suffix, suffix) if suffix else None

    def validate(self) -> None:
        """Raise UsageError with a user-facing message for inconsistent options."""
        missing = [str(p) for p in self.paths if not (p.exists() or p.is_symlink())]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(missing)}")
        fmt = self.output_format()
        if self.output not in (None, STDOUT) and fmt not in FORMATS:
            raise UsageError(
                f"cannot tell the format of {self.output}: name it .csv, .jsonl or .json, "
                "or pass --format csv|jsonl|json."
            )
        if self.format is not None and self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}.")
        if self.mode not in SORT_MODES:
            raise UsageError(f"--mode must be one of {', '.join(SORT_MODES)}.")
        if self.resume and self.output in (None, STDOUT):
            raise UsageError("--resume needs --output FILE (the file of the interrupted run).")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise UsageError("--threshold must be between 0 and 1.")
        if self.top_k < 1 or self.batch < 1 or (self.threads is not None and self.threads < 1):
            raise UsageError("--top-k, --batch and --threads must be at least 1.")
        if (self.mode != "copy" or self.dry_run) and self.sort_into is None:
            raise UsageError("--mode and --dry-run only apply with --sort-into DIR.")
        if not self.watch_interval > 0 or not self.watch_settle >= 0:
            raise UsageError("--interval must be above 0 and --settle at least 0 seconds.")
        if self.resume and self.overwrite:
            raise UsageError("--resume continues the --output file and --overwrite replaces it: "
                             "pass one of them.")
        if self.watch and not any(p.is_dir() for p in self.paths):
            raise UsageError("--watch looks for new images in folders: name at least one "
                             "folder to watch (files named alone are classified once, "
                             "without --watch).")
        check_pixels(self.crop, self.resize, self.std)


def check_pixels(crop: str | None, resize: str | None, std: tuple[float, ...] | None) -> None:
    """Raise UsageError for a --crop, --resize or --std no model can use."""
    if crop is not None and crop not in CROP_MODES:
        raise UsageError(f"--crop must be one of {', '.join(CROP_MODES)}, not {crop!r}.")
    if resize is not None and resize not in RESIZE_METHODS:
        raise UsageError(f"--resize must be one of {', '.join(RESIZE_METHODS)}, not {resize!r}.")
    if std is not None and not all(s > 0 for s in std):
        raise UsageError("--std must be above 0 (a negative or zero std flips or breaks every "
                         "input value): e.g. --mean 127.5 --std 127.5.")
