"""Errors a user of the edge runner can hit, each printed without a traceback.

`EdgeError` is the base the CLI catches. `UsageError` and `ResumeError` (exit code 2) mean the
options cannot be run as given; `ModelLoadError` (exit code 3) means nothing can be classified
at all; `ImageError` is about one file and becomes an error row, never a crash. Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class EdgeError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


class UsageError(EdgeError, ValueError):
    """The options contradict each other or name something that is not there: exit 2 with a
    pointer to --help. A ValueError too, so API callers that caught ValueError keep working."""


class ModelLoadError(EdgeError):
    """The model file or the TFLite runtime cannot be loaded: nothing can be classified."""


class ImageError(EdgeError):
    """One file cannot be turned into model input; `kind` is a short machine-readable tag."""

    kind = "unreadable"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class NotAnImageError(ImageError):
    kind = "not-an-image"


class TruncatedImageError(ImageError):
    kind = "truncated"


class EmptyFileError(ImageError):
    kind = "empty"


class ImageTooLargeError(ImageError):
    kind = "too-large"


class CorruptImageError(ImageError):
    kind = "corrupt"


class UnreadableFileError(ImageError):
    """The bytes cannot be read at all: missing file, permissions, a directory, a symlink loop."""

    kind = "unreadable"


class ResumeError(EdgeError):
    """The --output file cannot be continued as asked (damaged, other format or model): a usage
    error (exit 2) whose message says how to proceed."""
