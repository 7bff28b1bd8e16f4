"""Turn a function event into plain work items: which objects to classify, for which message.

Event kinds (AWS's documented formats; nothing here imports boto3):
- an S3 notification: `{"Records": [{"eventSource": "aws:s3", "s3": {...}}]}`, keys URL-encoded;
- SQS messages whose bodies are S3 notifications (directly or inside an SNS envelope);
- an S3 Batch Operations job's invocation: `{"invocationSchemaVersion": ..., "tasks": [...]}`;
- a direct batch request: `{"bucket": ..., "prefix": ..., "output_prefix": ...,
  "continuation_token": ...}`.
A malformed message becomes a `Message` with an `error`, so the others still get processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from edge.errors import EdgeError


class EventError(EdgeError):
    """The event as a whole is of no known kind or is malformed."""


@dataclass(frozen=True)
class ObjectRef:
    """One object to classify; `etag` and `size` as the event or the listing reported them."""

    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Message:
    """One unit the platform retries as a whole: an SQS message, or a whole S3 event.

    `error` says why it could not be parsed; `ignored` marks messages that need no work (S3's
    `s3:TestEvent`, `ObjectRemoved` records).
    """

    message_id: str | None
    objects: tuple[ObjectRef, ...] = ()
    error: str | None = None
    ignored: int = 0


@dataclass(frozen=True)
class BatchRequest:
    bucket: str
    prefix: str = ""
    output_prefix: str | None = None
    output_bucket: str | None = None
    continuation_token: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    """`kind` is "s3", "sqs", "s3-batch-operations" or "batch"; `invocation` holds S3 Batch
    Operations' (invocationSchemaVersion, invocationId), echoed in the response."""

    kind: str
    messages: tuple[Message, ...] = ()
    batch: BatchRequest | None = None
    invocation: tuple[str, str] | None = None


def parse_event(event) -> ParsedEvent:
    """Classify the event's kind and extract its work items; raises EventError if unknown."""
    if not isinstance(event, dict):
        raise EventError(f"the event must be a JSON object, not {type(event).__name__}")
    records = event.get("Records")
    if isinstance(records, list) and records:
        sources = {r.get("eventSource") if isinstance(r, dict) else None for r in records}
        if sources == {"aws:sqs"}:
            return ParsedEvent("sqs", tuple(_isolated(_sqs_message, r) for r in records))
        if sources == {"aws:s3"}:
            return ParsedEvent("s3", (_s3_message(None, records),))
        raise EventError(f"unsupported eventSource {sorted(map(str, sources))}: "
                         "expected aws:s3 or aws:sqs records")
    if "invocationSchemaVersion" in event and isinstance(event.get("tasks"), list):
        invocation = (str(event["invocationSchemaVersion"]), str(event.get("invocationId", "")))
        return ParsedEvent("s3-batch-operations", tuple(_task(t) for t in event["tasks"]),
                           invocation=invocation)
    if "bucket" in event:
        return ParsedEvent("batch", batch=_batch_request(event))
    raise EventError("unknown event: expected S3 or SQS `Records`, or a batch request "
                     '{"bucket": ..., "prefix": ...}')


def _batch_request(event: dict) -> BatchRequest:
    fields = ("bucket", "prefix", "output_prefix", "output_bucket", "continuation_token")
    values = {name: event.get(name) for name in fields}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise EventError(f"batch request field {name!r} must be a string")
    if not values["bucket"]:
        raise EventError("batch request has an empty 'bucket'")
    values["prefix"] = values["prefix"] or ""
    return BatchRequest(**values)


def _task(task) -> Message:
    """An S3 Batch Operations task: schema 1.0 names the bucket by ARN, 2.0 by name."""
    task_id = str(task.get("taskId", "")) if isinstance(task, dict) else ""
    try:
        bucket = task.get("s3Bucket") or str(task["s3BucketArn"]).split(":::", 1)[1]
        key = unquote_plus(_name(task["s3Key"], "s3Key"))
        bucket = _name(bucket, "bucket")
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as e:
        return Message(task_id, error=f"malformed S3 Batch Operations task: missing or bad {e}")
    return Message(task_id, (ObjectRef(str(bucket), key),))


def _isolated(parse, record) -> Message:
    """One message's parse, whatever it raises: a poisoned message must not sink its batch."""
    try:
        return parse(record)
    except Exception as e:
        message_id = record.get("messageId") if isinstance(record, dict) else None
        return Message(str(message_id or ""), error=f"cannot parse the message: "
                                                    f"{type(e).__name__}: {e}")


def _sqs_message(record: dict) -> Message:
    message_id = str(record.get("messageId") or "")
    try:
        body = json.loads(record.get("body") or "")
        if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
            body = json.loads(body["Message"])
    except (TypeError, ValueError, RecursionError) as e:
        return Message(message_id, error=f"the message body is not JSON ({e})")
    if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
        return Message(message_id, ignored=1)
    records = body.get("Records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        return Message(message_id, error="the message body is not an S3 event notification")
    return _s3_message(message_id, records)


def _s3_message(message_id: str | None, records: list) -> Message:
    objects, ignored, errors = [], 0, []
    for record in records:
        try:
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                ignored += 1
                continue
            s3 = record["s3"]
            obj = s3["object"]
            objects.append(ObjectRef(
                bucket=_name(s3["bucket"]["name"], "bucket name"),
                key=unquote_plus(_name(obj["key"], "key")),
                etag=normalize_etag(obj.get("eTag")),
                size=_size(obj.get("size")),
            ))
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as e:
            errors.append(f"malformed S3 record: missing or bad {e}")
    return Message(message_id, tuple(objects), "; ".join(errors) or None, ignored)


def _name(value, what: str) -> str:
    """Bucket names and keys must be non-empty strings: `null` would become the key "None"."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} {json.dumps(value)[:80]} (expected a non-empty string)")
    return value


def _size(value) -> int | None:
    if value is None:
        return None
    size = int(value)  # inf: OverflowError, NaN and text: ValueError
    if size < 0 or size != value and not isinstance(value, str):
        raise ValueError(f"size {value!r} (expected a whole number of bytes)")
    return size


def normalize_etag(etag) -> str | None:
    """ETags come quoted from S3 responses and unquoted in events; compare them unquoted."""
    return str(etag).strip('"') if etag else None
