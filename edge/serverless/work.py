"""Classify a batch of S3 objects: look up existing results, download, classify, write results.

Every object ends as one `Outcome`, never an exception:
- `classified`: a result was written; `skipped`: a result for the same ETag and model exists;
- `error`: a permanent problem (missing, access denied, too large, not an image), recorded as
  an error result so nothing is lost and a retry would not help;
- `retry`: a transient problem (throttling, network, result not writable); nothing written.
An object whose result key would pass S3's 1,024-byte limit is an `error` with nothing written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, unquote

from edge.classifier import Result
from edge.run.runrecord import sha256_of
from edge.serverless.config import ServerlessConfig
from edge.serverless.events import ObjectRef
from edge.serverless.objectstore import ObjectError, ObjectStore, too_large
from edge.serverless.summary import MAX_LISTED_FAILURES, Counts, Summary

RESULT_FORMAT = "pawlite-result/1"
RESULT_SUFFIXES = (".json", ".jsonl")
# Deterministic for the same bytes and model, so an existing error result of these kinds is final.
# The response and the log line stay small; the manifest and the result files list them all.
CONTENT_ERRORS = frozenset({"not-an-image", "truncated", "empty", "too-large", "corrupt"})
MAX_KEY_BYTES = 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelIdentity:
    """What a result records about the model. `sha256` and `setup` are both part of the
    idempotency key: the same file with other LABELS_PATH, MEAN/STD, CROP, THRESHOLD or
    TOP_K gives other answers, so a result made under other settings is redone, not
    skipped."""

    sha256: str
    name: str
    class_names: tuple[str, ...]
    setup: str = ""

    @classmethod
    def of(cls, path: str | os.PathLike, class_names, setup: str = "") -> ModelIdentity:
        return cls(sha256_of(path), Path(path).name, tuple(class_names), setup)

    @property
    def setup_key(self) -> str:
        """The setup as a short ASCII token, fit for S3 user metadata."""
        return hashlib.sha256(self.setup.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Outcome:
    ref: ObjectRef
    status: str
    result_key: str | None = None
    label: str | None = None
    confidence: float | None = None
    error_kind: str | None = None
    error_message: str | None = None

    def line(self) -> dict:
        """The outcome as one manifest line / response entry."""
        return {"bucket": self.ref.bucket, "key": self.ref.key, "etag": self.ref.etag,
                "status": self.status, "result_key": self.result_key, "label": self.label,
                "confidence": self.confidence, "error_kind": self.error_kind,
                "error_message": self.error_message}


def is_own_output(key: str, output_prefix: str) -> bool:
    """Results and manifests are never classified: no trigger loops, whatever the prefix."""
    return key.startswith(output_prefix) or key.lower().endswith(RESULT_SUFFIXES)


class Worker:
    """Processes chunks of objects with one classifier, one store and one model identity."""

    def __init__(self, classifier, store: ObjectStore, config: ServerlessConfig,
                 model: ModelIdentity) -> None:
        self.classifier = classifier
        self.store = store
        self.config = config
        self.model = model
        self.load_seconds: float | None = None

    def timed(self, refs: list[ObjectRef], budget: Budget, output_prefix: str,
              output_bucket: str | None = None) -> list[Outcome]:
        """`process`, recording the chunk's duration in the time budget."""
        started = time.perf_counter()
        outcomes = self.process(refs, output_prefix, output_bucket)
        budget.record(time.perf_counter() - started)
        return outcomes

    def isolated(self, refs: list[ObjectRef], budget: Budget, output_prefix: str,
                 output_bucket: str | None = None) -> list[Outcome]:
        """`timed`, but an unexpected exception costs only the object that raised it: the
        chunk is redone one object at a time, and that one becomes a `retry` outcome."""
        try:
            return self.timed(refs, budget, output_prefix, output_bucket)
        except Exception:
            if len(refs) == 1:
                return [self._crashed(refs[0])]
        outcomes = []
        for ref in refs:
            try:
                outcomes += self.timed([ref], budget, output_prefix, output_bucket)
            except Exception:
                outcomes.append(self._crashed(ref))
        return outcomes

    @staticmethod
    def _crashed(ref: ObjectRef) -> Outcome:
        log.exception("unexpected error on s3://%s/%s (a bug: please report it)",
                      ref.bucket, ref.key)
        return Outcome(ref, "retry", None, error_kind="internal-error",
                       error_message="unexpected error, see the function's log")

    def process(self, refs: list[ObjectRef], output_prefix: str,
                output_bucket: str | None = None) -> list[Outcome]:
        """One outcome per ref, in order; S3 requests run in parallel threads."""
        if not refs:
            return []
        with tempfile.TemporaryDirectory(prefix="pawlite-") as tmp, \
                ThreadPoolExecutor(self.config.download_workers) as pool:
            targets = [(ref, output_bucket or ref.bucket, output_prefix + ref.key + ".json",
                        os.path.join(tmp, str(i))) for i, ref in enumerate(refs)]
            staged = list(pool.map(self._stage, targets))
            classified = iter(self._classify([s for s in staged if isinstance(s, tuple)]))
            documents = [next(classified) if isinstance(s, tuple) else s for s in staged]
            return list(pool.map(self._write, targets, documents))

    def _stage(self, target):
        """An Outcome if done already, an ObjectError if failed, else (ref, local file)."""
        ref, bucket, result_key, path = target
        if len(result_key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            return Outcome(ref, "error", None, error_kind="key-too-long", error_message=(
                f"the result key would be over S3's {MAX_KEY_BYTES}-byte limit: use a "
                "shorter OUTPUT_PREFIX or key"))
        try:
            existing = self.store.result_metadata(bucket, result_key)
            if self._is_current(existing, ref.etag):
                return _from_metadata(ref, result_key, existing)
            if ref.size is not None and ref.size > self.config.max_object_bytes:
                raise too_large(ref.size, self.config.max_object_bytes)
            fetched = self.store.fetch(ref, path, self.config.max_object_bytes)
        except ObjectError as e:
            return e
        if fetched.etag and fetched.etag != ref.etag and self._is_current(existing, fetched.etag):
            return _from_metadata(replace(ref, etag=fetched.etag), result_key, existing)
        return replace(ref, etag=fetched.etag or ref.etag, size=fetched.size), path

    def _is_current(self, metadata: dict | None, etag: str | None) -> bool:
        if not metadata or not etag or metadata.get("pawlite-etag") != etag:
            return False
        if (metadata.get("pawlite-model") != self.model.sha256
                or metadata.get("pawlite-setup") != self.model.setup_key):
            return False
        return (metadata.get("pawlite-status") == "ok"
                or metadata.get("pawlite-error-kind") in CONTENT_ERRORS)

    def _classify(self, ready: list[tuple[ObjectRef, str]]) -> list[dict]:
        if not ready:
            return []
        results = self.classifier.classify_paths(
            [path for _, path in ready], top_k=self.config.top_k,
            threshold=self.config.threshold, batch_size=len(ready))
        return [self._document(ref, replace(result, path=f"s3://{ref.bucket}/{ref.key}"))
                for (ref, _), result in zip(ready, results, strict=True)]

    def _document(self, ref: ObjectRef, result) -> dict:
        return {
            "format": RESULT_FORMAT,
            **result.to_dict(),
            "source": {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "size": ref.size},
            "model": {"sha256": self.model.sha256, "name": self.model.name,
                      "class_names": list(self.model.class_names), "setup": self.model.setup,
                      "setup_key": self.model.setup_key},
            "classified_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _write(self, target, staged) -> Outcome:
        ref, bucket, result_key, _ = target
        if isinstance(staged, Outcome):
            return staged
        if isinstance(staged, ObjectError):
            if staged.transient:
                return Outcome(ref, "retry", None, error_kind=staged.kind,
                               error_message=str(staged))
            staged = self._document(ref, _error_row(ref, staged.kind, str(staged)))
        try:
            self.store.put_json(bucket, result_key, staged, _metadata(staged))
        except ObjectError as e:
            if not e.transient:  # access denied, no such bucket: no retry will write it
                log.error("permanent write error for s3://%s/%s: %s", ref.bucket, ref.key, e)
                return Outcome(ref, "error", None, error_kind=e.kind,
                               error_message=f"{e} (permanent: not retried)")
            return Outcome(ref, "retry", None, error_kind="write-failed", error_message=str(e))
        status = "classified" if staged["error_kind"] is None else "error"
        source = replace(ref, etag=staged["source"]["etag"])
        return Outcome(source, status, result_key, staged["label"], staged["confidence"],
                       staged["error_kind"], staged["error_message"])


class Budget:
    """The invocation's time budget: may another chunk start without running out of time?"""

    def __init__(self, context, margin_ms: int) -> None:
        self._remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.margin_ms = margin_ms
        self.slowest_ms = 0.0
        self.started = time.perf_counter()

    def allows_chunk(self) -> bool:
        if self._remaining is None:
            return True
        return self._remaining() > self.margin_ms + 1.5 * self.slowest_ms

    def record(self, seconds: float) -> None:
        self.slowest_ms = max(self.slowest_ms, seconds * 1000)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def _error_row(ref: ObjectRef, kind: str, message: str) -> Result:
    return Result(f"s3://{ref.bucket}/{ref.key}", error_kind=kind, error_message=message)


def _metadata(document: dict) -> dict[str, str]:
    """S3 user metadata (ASCII only) mirroring the result, so a HEAD answers "done already?"."""
    confidence = document["confidence"]
    return {
        "pawlite-etag": document["source"]["etag"] or "",
        "pawlite-model": document["model"]["sha256"],
        "pawlite-setup": document["model"]["setup_key"],
        "pawlite-status": "ok" if document["error_kind"] is None else "error",
        "pawlite-label": quote(document["label"] or ""),
        "pawlite-confidence": "" if confidence is None else f"{confidence:.6f}",
        "pawlite-error-kind": document["error_kind"] or "",
    }


def _from_metadata(ref: ObjectRef, result_key: str, metadata: dict) -> Outcome:
    confidence = metadata.get("pawlite-confidence")
    return Outcome(replace(ref, etag=metadata.get("pawlite-etag")), "skipped", result_key,
                   unquote(metadata.get("pawlite-label", "")) or None,
                   float(confidence) if confidence else None,
                   metadata.get("pawlite-error-kind") or None)


def no_time_message(config: ServerlessConfig) -> str:
    return (f"no time left to start: less than SAFETY_MARGIN_MS={config.safety_margin_ms} ms "
            "(plus the slowest chunk) remained; raise the function timeout or lower the margin")


def summarize(kind: str, outcomes: list[Outcome], budget: Budget, worker: Worker, ignored=0,
              deferred=0, not_images=0, extra_failures=()) -> Summary:
    """Counts, failures and throughput of one invocation, for the response and the log."""
    counts = Counter(o.status for o in outcomes)
    failures = [o.line() for o in outcomes if o.status in ("error", "retry")]
    failures += list(extra_failures)
    elapsed = budget.elapsed()
    load = worker.load_seconds
    kernels = getattr(worker.classifier, "kernels", None)
    return Summary(kind, Counts(
        objects=len(outcomes) + deferred,
        classified=counts["classified"],
        errors=counts["error"],
        skipped=counts["skipped"],
        retry=counts["retry"],
        deferred=deferred,
        ignored=ignored,
        not_images=not_images,
        elapsed_s=round(elapsed, 3),
        images_per_second=round(counts["classified"] / elapsed, 2) if elapsed > 0 else None,
        model_sha256=worker.model.sha256,
        model_load_s=round(load, 3) if load is not None else None,
        failures=tuple(failures[:MAX_LISTED_FAILURES]),
        failures_not_listed=max(0, len(failures) - MAX_LISTED_FAILURES),
        kernels=kernels.to_json() if kernels is not None else None,
    ))
