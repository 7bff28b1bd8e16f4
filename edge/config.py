"""The edge runner's configuration: everything one `edge-classify` run depends on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import UsageError
from edge.options import ModelOptions, check_pixels

FORMATS = ("csv", "jsonl", "json")
SORT_MODES = ("copy", "move", "link")
STDOUT = Path("-")


@dataclass(frozen=True)
class ClassifyConfig(ModelOptions):
    """Built by the CLI (or by a caller) and handed to `edge.run.runner.run`: the model options
    (`edge.options.ModelOptions`, keyword-only) and what the run does with the answers.

    `output=None` prints a table on a terminal and CSV when stdout is piped; `Path("-")` is
    stdout.
    """

    paths: tuple[Path, ...]
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
    batch: int = 8
    quiet: bool = False
    recursive: bool = True
    exif_rotate: bool = True
    watch_settle: float = 2.0
    profile: bool = False
    overwrite: bool = False

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

