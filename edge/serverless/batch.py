"""Batch requests: classify every image under a prefix, resumable across invocations.

Keys are listed in order with `StartAfter`; the continuation token records the last key done,
so an invocation that runs out of time resumes exactly there (S3's own continuation tokens
cannot resume in the middle of a page). Each invocation writes one JSONL manifest segment,
named after the prefix and its start position, so rerunning a segment overwrites it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import PurePosixPath

from edge.run.files import image_extensions
from edge.serverless.config import ServerlessConfig
from edge.serverless.events import BatchRequest, EventError
from edge.serverless.objectstore import ObjectError
from edge.serverless.summary import Continuation, Summary
from edge.serverless.work import Budget, Worker, is_own_output, no_time_message, summarize


def run_batch(worker: Worker, request: BatchRequest, budget: Budget) -> Summary:
    """Classify every image under a prefix, page by page, until done or out of time."""
    config = worker.config
    out_prefix = request.output_prefix or config.output_prefix
    out_bucket = request.output_bucket or config.output_bucket or request.bucket
    try:
        after = decode_token(request.continuation_token)
        _check_prefixes(request.prefix, out_prefix, config.output_prefix)
    except EventError as e:
        return Summary.malformed("batch", str(e))
    start, outcomes, skipped = after, [], Counter()
    finished = False
    try:
        while budget.allows_chunk() and not finished:
            page, more = worker.store.list_page(request.bucket, request.prefix, after,
                                                config.list_page_size)
            for start_i in range(0, len(page), config.batch_size):
                if not budget.allows_chunk():
                    break
                part = page[start_i:start_i + config.batch_size]
                todo = [r for r in part if _candidate(r.key, out_prefix, config, skipped)]
                outcomes += worker.isolated(todo, budget, out_prefix, out_bucket)
                after = part[-1].key
            else:
                finished = not more
    except ObjectError as e:
        summary = summarize("batch", outcomes, budget, worker, not_images=sum(skipped.values()))
        return _with_continuation(summary.failed(e.kind, str(e)), request, after, False)
    summary = summarize("batch", outcomes, budget, worker, not_images=sum(skipped.values()))
    if not finished and after == start:
        summary = summary.failed("no-time", no_time_message(config))
    manifest, manifest_error = _write_manifest(worker, request, out_bucket, out_prefix, start,
                                               outcomes)
    return _with_continuation(summary, request, after, finished, manifest, manifest_error)


def _check_prefixes(prefix: str, *output_prefixes: str) -> None:
    """Everything under an output prefix is skipped as our own output: a prefix inside one
    would finish "complete" with nothing done."""
    for out in output_prefixes:
        if prefix.startswith(out):
            raise EventError(f"prefix {prefix!r} is inside the output prefix {out!r}, whose "
                             "keys are never classified: choose another output_prefix")


def _candidate(key: str, out_prefix: str, config: ServerlessConfig, skipped: Counter) -> bool:
    """In a listing: skip our outputs, folder markers, hidden files and non-image extensions."""
    if is_own_output(key, out_prefix) or is_own_output(key, config.output_prefix):
        return False
    name = PurePosixPath(key).name
    suffix = PurePosixPath(name).suffix.lower()
    if key.endswith("/") or name.startswith(".") or (suffix and suffix not in _extensions()):
        skipped[suffix] += 1
        return False
    return True


@functools.lru_cache(maxsize=1)
def _extensions() -> frozenset[str]:
    return image_extensions()


def _write_manifest(worker, request, bucket, out_prefix, start,
                    outcomes) -> tuple[str | None, str | None]:
    """One JSONL file per (prefix, start position): a rerun of the same segment overwrites it.
    Returns (its key, why it could not be written)."""
    if not outcomes:
        return None, None
    run = hashlib.sha256(f"{request.bucket}/{request.prefix}".encode()).hexdigest()[:16]
    segment = hashlib.sha256((start or "").encode()).hexdigest()[:16]
    key = f"{out_prefix}_manifests/{run}/{segment}.jsonl"
    body = "".join(json.dumps(o.line(), ensure_ascii=False) + "\n" for o in outcomes)
    try:
        worker.store.put(bucket, key, body.encode("utf-8"), "application/x-ndjson")
    except ObjectError as e:
        return None, str(e)
    return key, None


def _with_continuation(summary: Summary, request: BatchRequest, after, finished: bool,
                       manifest: str | None = None, manifest_error: str | None = None) -> Summary:
    token = None if finished else encode_token(after)
    next_event = None if finished else {
        "bucket": request.bucket, "prefix": request.prefix,
        "output_prefix": request.output_prefix, "output_bucket": request.output_bucket,
        "continuation_token": token}
    return replace(summary, status=summary.status or ("complete" if finished else "partial"),
                   batch=Continuation(token, next_event, manifest, manifest_error))


def encode_token(after: str | None) -> str:
    """Our continuation token: the last key done (S3's own tokens cannot resume mid-page)."""
    text = json.dumps({"v": 1, "after": after or ""})
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        return str(data["after"]) or None
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise EventError("continuation_token is not one this handler returned; "
                         "omit it to start from the beginning of the prefix") from None
