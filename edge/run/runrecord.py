"""The record beside an output file, `<output>.pawlite.json`: which model, format and working
folder wrote its rows.

--resume reads it to refuse mixing two models' answers or two formats in one file, and to
match rows with relative paths written from another working folder. A sidecar keeps the CSV,
JSONL and JSON files plain rows that any tool reads.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.errors import ResumeError

FORMAT = "pawlite-run/1"


@dataclass(frozen=True)
class RunRecord:
    output_format: str
    model_sha256: str
    model_name: str
    cwd: str
    model_setup: str = ""
    answers: str = ""

    @staticmethod
    def path_for(output: Path) -> Path:
        return output.with_name(output.name + ".pawlite.json")

    @classmethod
    def load(cls, output: Path) -> RunRecord | None:
        """The record of `output`, None when there is none (a file from before records)."""
        path = cls.path_for(output)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {FORMAT}")
            return cls(**{name: str(data[name]) for name in
                          ("output_format", "model_sha256", "model_name", "cwd")},
                       model_setup=str(data.get("model_setup", "")),
                       answers=str(data.get("answers", "")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ResumeError(f"{path} is damaged ({e}): delete it to resume without the "
                              "model and format checks, or write to a new --output.") from None

    def save(self, output: Path) -> None:
        """Written atomically before the first row, so a killed run leaves it whole."""
        path = self.path_for(output)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(json.dumps({"format": FORMAT, **asdict(self)}, indent=1) + "\n",
                        encoding="utf-8", errors="surrogateescape")
        os.replace(temp, path)

    def check_resume(self, earlier: RunRecord, output: Path) -> None:
        """Raise ResumeError, saying how to proceed, when this run cannot continue `earlier`."""
        if earlier.output_format != self.output_format:
            raise ResumeError(
                f"{output} was written as {earlier.output_format}, not {self.output_format}: "
                f"resume with --format {earlier.output_format}, or write to a new --output.")
        if earlier.model_sha256 != self.model_sha256:
            raise ResumeError(
                f"{output} holds answers of the model {earlier.model_name} (sha256 "
                f"{earlier.model_sha256[:16]}...), not of {self.model_name} (sha256 "
                f"{self.model_sha256[:16]}...): resume with --model set to that model, or "
                "write this model's answers to a new --output.")
        if earlier.model_setup and earlier.model_setup != self.model_setup:
            raise ResumeError(
                f"{output} was written with other settings for {self.model_name} "
                f"({earlier.model_setup}, now {self.model_setup}): resume with the same "
                "--labels, --mean/--std, --resize and --crop, or write to a new --output.")
        if earlier.answers and earlier.answers != self.answers:
            raise ResumeError(
                f"{output} was written with {earlier.answers}, not {self.answers}: resume "
                "with the same --threshold and --top-k (one file, one rule for its labels), "
                "or write to a new --output.")


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
