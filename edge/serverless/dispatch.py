"""Function handler: classify images in S3-compatible object storage with the edge runtime.

`handler(event, context)` follows AWS Lambda's Python runtime (the reference platform); the core
(`work`, `objectstore`, `events`, `batch`) does not depend on it. Event kinds:
- S3 `ObjectCreated` notification: classify each object; if anything transient failed or did
  not fit in the time budget, raise `RetryLater` after the rest is done, so the platform's
  retry redoes only the missing objects (existing results are skipped).
- SQS messages holding S3 notifications: returns `{"batchItemFailures": [...]}` naming only the
  messages to retry (transient failures, objects deferred for time, malformed bodies, which
  SQS then moves to the dead-letter queue after `maxReceiveCount`).
- S3 Batch Operations (Lambda invoke, schema 1.0 or 2.0): one result code per task; objects with
  an error result are `PermanentFailure` (in the job's completion report), transient failures
  `TemporaryFailure` (retried by the job).
- Batch request `{"bucket", "prefix", "output_prefix", "output_bucket", "continuation_token"}`:
  classifies every image under the prefix in key order, writes a JSONL manifest, and returns a
  summary with `continuation_token` and `next_event` (null when finished).

The model loads once per container, on the first invocation; configuration is read from the
environment then (see `edge.serverless.config` for the table of variables). Lambda sends one
event at a time to a process; anywhere else, calls from several threads take turns on a lock,
because the one interpreter is not thread-safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from edge.classifier import open_classifier
from edge.errors import EdgeError
from edge.pixels.decode import silence_pillow_warnings
from edge.serverless.batch import decode_token, encode_token, run_batch
from edge.serverless.config import ServerlessConfig
from edge.serverless.events import EventError, ParsedEvent, parse_event
from edge.serverless.objectstore import ObjectStore, make_client
from edge.serverless.summary import Summary
from edge.serverless.work import (
    Budget,
    ModelIdentity,
    Outcome,
    Worker,
    is_own_output,
    no_time_message,
    summarize,
)

__all__ = ["RetryLater", "decode_token", "encode_token", "get_worker", "handler",
           "process_event", "reset"]
log = logging.getLogger(__name__)
_WORKER: Worker | None = None
_LOCK = threading.RLock()


class RetryLater(EdgeError):
    """Raised for S3 notifications with transient failures, so the platform retries the event."""


def handler(event, context=None) -> dict:
    """The function entry point; see the module docstring for the event kinds and responses."""
    response, summary = process_event(event, context)
    log.info("pawlite summary %s", json.dumps(summary.to_json(), default=str))
    if summary.kind == "s3" and summary.to_retry:
        raise RetryLater(f"{summary.to_retry} object(s) to retry: "
                         f"{json.dumps(list(summary.counts.failures))[:2000]}")
    return response


def process_event(event, context=None) -> tuple[dict, Summary]:
    """(platform response, summary); never raises for bad input, only for a broken deployment."""
    with _LOCK:
        return _process_event(event, context)


def _process_event(event, context) -> tuple[dict, Summary]:
    silence_pillow_warnings()
    worker = get_worker()
    budget = Budget(context, worker.config.safety_margin_ms)
    try:
        parsed = parse_event(event)
    except EventError as e:
        log.error("malformed event: %s", e)
        summary = Summary.malformed("unknown", str(e))
        return summary.to_json(), summary
    if parsed.kind == "batch":
        summary = run_batch(worker, parsed.batch, budget)
        return summary.to_json(), summary
    return run_messages(worker, parsed, budget)


def get_worker() -> Worker:
    """The container's worker (config, model, S3 client), created on first use."""
    global _WORKER
    with _LOCK:
        if _WORKER is None:
            _WORKER = _new_worker()
        return _WORKER


def _new_worker() -> Worker:
    started = time.perf_counter()
    config = ServerlessConfig.from_env()
    # The handler is an entry point: the platform's root handler prints what we let through.
    logging.getLogger("edge").setLevel(config.log_level)
    classifier = open_classifier(config)
    threshold = "none" if config.threshold is None else f"{config.threshold:g}"
    model = ModelIdentity.of(classifier.model_path, classifier.class_names,
                             f"{classifier.spec.setup()}, threshold {threshold}, "
                             f"top-k {config.top_k}")
    worker = Worker(classifier, ObjectStore(make_client(config.download_workers + 2)),
                    config, model)
    worker.load_seconds = time.perf_counter() - started
    log.info("model %s loaded in %.3f s", model.name, worker.load_seconds)
    return worker


def reset() -> None:
    """Forget the loaded model and config (tests, or a new MODEL_PATH in the same process)."""
    global _WORKER
    with _LOCK:
        _WORKER = None


def run_messages(worker: Worker, parsed: ParsedEvent, budget: Budget) -> tuple[dict, Summary]:
    """S3, SQS and S3 Batch Operations events: each object once, in chunks, while time allows."""
    config = worker.config
    owners: dict[tuple, list[int]] = {}
    ignored = sum(m.ignored for m in parsed.messages)
    for index, message in enumerate(parsed.messages):
        for ref in message.objects:
            if is_own_output(ref.key, config.output_prefix) or ref.key.endswith("/"):
                ignored += 1
            else:
                owners.setdefault(ref, []).append(index)
    refs = list(owners)
    outcomes: list[Outcome] = []
    for start in range(0, len(refs), config.batch_size):
        if not budget.allows_chunk():
            break
        outcomes += worker.isolated(refs[start:start + config.batch_size], budget,
                                    config.output_prefix, config.output_bucket)
    deferred = refs[len(outcomes):]
    if deferred and not outcomes:
        log.error(no_time_message(config))
    failed = {i for i, m in enumerate(parsed.messages) if m.error}
    for ref, outcome in zip(refs, outcomes, strict=False):
        if outcome.status == "retry":
            failed.update(owners[ref])
    for ref in deferred:
        failed.update(owners[ref])
    malformed = [{"message_id": m.message_id, "error_kind": "malformed-event",
                  "error_message": m.error} for m in parsed.messages if m.error]
    summary = summarize(parsed.kind, outcomes, budget, worker, ignored=ignored,
                        deferred=len(deferred), extra_failures=malformed)
    if parsed.kind == "sqs":
        ids = sorted({parsed.messages[i].message_id for i in failed})
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}, summary
    if parsed.kind == "s3-batch-operations":
        done = dict(zip(refs, outcomes, strict=False))
        return _task_results(parsed, failed, done), summary
    return summary.to_json(), summary


def _task_results(parsed: ParsedEvent, failed: set[int], done: dict) -> dict:
    """S3 Batch Operations' response: one result code per task (TemporaryFailure is retried)."""
    results = []
    for index, message in enumerate(parsed.messages):
        outcomes = [done[ref] for ref in message.objects if ref in done]
        errors = [o for o in outcomes if o.status == "error"]
        if message.error:
            code, text = "PermanentFailure", f"malformed-event: {message.error}"
        elif index in failed:
            code, text = "TemporaryFailure", "retry: transient error or out of time"
        elif errors:
            code, text = "PermanentFailure", f"{errors[0].error_kind}: {errors[0].error_message}"
        else:
            code = "Succeeded"
            text = ", ".join(f"{o.status}: {o.label}" for o in outcomes) or "ignored"
        results.append({"taskId": message.message_id, "resultCode": code, "resultString": text})
    version, invocation_id = parsed.invocation
    return {"invocationSchemaVersion": version, "treatMissingKeysAs": "PermanentFailure",
            "invocationId": invocation_id, "results": results}


