"""What one invocation did: the response to S3 and batch events, and the log line for all.

Frozen so that the handler decides from fields (`needs_retry`), not from keys some code path
may or may not have set; `to_json()` is the one place the response's shape is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_LISTED_FAILURES = 50


@dataclass(frozen=True)
class Counts:
    """Objects by outcome, the failures worth reading (the first 50), the throughput, and
    what ran the model (`edge.runtime.Kernels.to_json()`: runtime, version, threads, xnnpack)."""

    objects: int
    classified: int
    errors: int
    skipped: int
    retry: int
    deferred: int
    ignored: int
    not_images: int
    elapsed_s: float
    images_per_second: float | None
    model_sha256: str
    model_load_s: float | None
    failures: tuple[dict, ...]
    failures_not_listed: int
    kernels: dict | None = None

    def to_json(self) -> dict:
        return {
            "objects": self.objects, "classified": self.classified, "errors": self.errors,
            "skipped": self.skipped, "retry": self.retry, "deferred": self.deferred,
            "ignored": self.ignored, "not_images": self.not_images,
            "elapsed_s": self.elapsed_s, "images_per_second": self.images_per_second,
            "model_sha256": self.model_sha256, "model_load_s": self.model_load_s,
            "failures": list(self.failures), "failures_not_listed": self.failures_not_listed,
            "kernels": self.kernels,
        }


@dataclass(frozen=True)
class Continuation:
    """Where a batch request stands: its manifest segment and the event that goes on."""

    token: str | None
    next_event: dict | None
    manifest: str | None = None
    manifest_error: str | None = None


@dataclass(frozen=True)
class Summary:
    """`kind` is the event kind (s3, sqs, s3-batch-operations, batch, unknown); `status`,
    `error_kind` and `error` are set for batch requests and events that could not be read."""

    kind: str
    counts: Counts | None = None
    status: str | None = None
    error_kind: str | None = None
    error: str | None = None
    batch: Continuation | None = None

    @classmethod
    def malformed(cls, kind: str, message: str) -> Summary:
        return cls(kind, status="error", error_kind="malformed-event", error=message)

    def failed(self, error_kind: str, message: str) -> Summary:
        return replace(self, status="error", error_kind=error_kind, error=message)

    @property
    def to_retry(self) -> int:
        """Objects an S3 notification must be redelivered for: transient failures and those
        that did not fit in the time budget."""
        return self.counts.retry + self.counts.deferred if self.counts else 0

    def to_json(self) -> dict:
        document: dict = {"kind": self.kind}
        if self.counts is not None:
            document.update(self.counts.to_json())
        for name in ("status", "error_kind", "error"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        if self.batch is not None:
            if self.batch.manifest_error is not None:
                document["manifest_error"] = self.batch.manifest_error
            document["manifest"] = self.batch.manifest
            document["continuation_token"] = self.batch.token
            document["next_event"] = self.batch.next_event
        return document
