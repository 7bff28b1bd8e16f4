"""Event parsing, configuration and continuation tokens: no server, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.serverless import decode_token, encode_token
from edge.serverless.config import ConfigError, ServerlessConfig
from edge.serverless.events import EventError, ObjectRef, parse_event
from edge.serverless.work import is_own_output

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_s3_notification_keys_are_url_decoded():
    parsed = parse_event(fixture("s3_object_created.json"))
    assert parsed.kind == "s3"
    (message,) = parsed.messages
    assert message.objects == (ObjectRef("pawlite-test", "incoming/red cat ü.jpg",
                                         "d41d8cd98f00b204e9800998ecf8427e", 1024),)


def test_sqs_messages_with_s3_body_sns_envelope_and_test_event():
    event = fixture("sqs_s3_messages.json")
    first = event["Records"][0]
    sns = dict(first, messageId="sns", body=json.dumps(
        {"Type": "Notification", "Message": first["body"]}))
    event["Records"] += [sns, dict(first, messageId="bad", body="{not json")]
    messages = parse_event(event).messages
    assert [m.message_id for m in messages][1:] == ["2e1424d4-f796-459a-8184-9c92662be6da",
                                                    "sns", "bad"]
    assert messages[0].objects == messages[2].objects
    assert messages[0].objects[0].key == "incoming/red cat ü.jpg"
    assert messages[1].ignored == 1 and not messages[1].objects and messages[1].error is None
    assert "not JSON" in messages[3].error


def test_removed_records_are_ignored_and_broken_records_reported():
    event = fixture("s3_object_created.json")
    good = event["Records"][0]
    removed = dict(good, eventName="ObjectRemoved:Delete")
    broken = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}
    (message,) = parse_event({"Records": [good, removed, broken]}).messages
    assert len(message.objects) == 1 and message.ignored == 1
    assert "malformed S3 record" in message.error


def test_s3_batch_operations_schema_2_and_1():
    event = fixture("s3_batch_operations.json")
    parsed = parse_event(event)
    assert parsed.kind == "s3-batch-operations"
    assert parsed.invocation == ("2.0", event["invocationId"])
    assert parsed.messages[0].message_id == "dGFza2lkZ29lc2hlcmUK"
    assert parsed.messages[0].objects == (ObjectRef("pawlite-test", "photos/red cat ü.jpg"),)
    old = {"invocationSchemaVersion": "1.0", "invocationId": "i", "tasks": [
        {"taskId": "t1", "s3Key": "a%2Bb.jpg", "s3BucketArn": "arn:aws:s3:::old-bucket"},
        {"taskId": "t2", "s3Key": "x.jpg"}]}
    first, second = parse_event(old).messages
    assert first.objects == (ObjectRef("old-bucket", "a+b.jpg"),)
    assert "malformed S3 Batch Operations task" in second.error


@pytest.mark.parametrize("event, message", [
    ("text", "JSON object"),
    ({}, "unknown event"),
    ({"Records": [{"eventSource": "aws:kinesis"}]}, "unsupported eventSource"),
    ({"bucket": ""}, "empty 'bucket'"),
    ({"bucket": "b", "prefix": 3}, "'prefix' must be a string"),
])
def test_malformed_events_raise_event_error(event, message):
    with pytest.raises(EventError, match=message):
        parse_event(event)


def test_batch_request_fixture():
    parsed = parse_event(fixture("batch_request.json"))
    assert parsed.kind == "batch"
    assert parsed.batch.bucket == "pawlite-test" and parsed.batch.prefix == ""
    assert parsed.batch.output_prefix == "pawlite-results/"


def test_continuation_token_round_trip_and_rejects_garbage():
    assert decode_token(encode_token("photos/ü 1.jpg")) == "photos/ü 1.jpg"
    assert decode_token(None) is None
    with pytest.raises(EventError, match="continuation_token"):
        decode_token("not-a-token")


def test_config_from_env_defaults_and_errors():
    config = ServerlessConfig.from_env({})
    assert config.output_prefix == "pawlite-results/" and config.model is None
    config = ServerlessConfig.from_env({"MAX_OBJECT_BYTES": "10", "THRESHOLD": "0.7",
                                        "LIST_PAGE_SIZE": "5000"})
    assert (config.max_object_bytes, config.threshold, config.list_page_size) == (10, 0.7, 1000)
    with pytest.raises(ConfigError, match="MAX_OBJECT_BYTES='big' is not a valid int"):
        ServerlessConfig.from_env({"MAX_OBJECT_BYTES": "big"})
    with pytest.raises(ConfigError, match="BATCH_SIZE='0' must be at least 1"):
        ServerlessConfig.from_env({"BATCH_SIZE": "0"})
    with pytest.raises(ConfigError, match="LOG_LEVEL='loud'"):
        ServerlessConfig.from_env({"LOG_LEVEL": "loud"})
    with pytest.raises(ConfigError, match="OUTPUT_PREFIX must not be empty"):
        ServerlessConfig.from_env({"OUTPUT_PREFIX": ""})


def test_own_outputs_are_never_inputs():
    assert is_own_output("pawlite-results/a.jpg.json", "pawlite-results/")
    assert is_own_output("custom/x/_manifests/1.jsonl", "pawlite-results/")
    assert is_own_output("photos/DATA.JSON", "pawlite-results/")
    assert not is_own_output("photos/a.jpg", "pawlite-results/")


def test_summary_response_shapes():
    from edge.serverless.summary import Continuation, Counts, Summary

    counts = Counts(objects=3, classified=1, errors=1, skipped=0, retry=1, deferred=1, ignored=0,
                    not_images=2, elapsed_s=0.5, images_per_second=2.0, model_sha256="ab",
                    model_load_s=None, failures=({"key": "x"},), failures_not_listed=0)
    s3 = Summary("s3", counts)
    assert s3.to_retry == 2 and Summary.malformed("unknown", "bad").to_retry == 0
    assert list(s3.to_json()) == ["kind", *counts.to_json()]
    assert s3.to_json()["failures"] == [{"key": "x"}]
    assert Summary.malformed("unknown", "bad").to_json() == {
        "kind": "unknown", "status": "error", "error_kind": "malformed-event", "error": "bad"}
    batch = Summary("batch", counts, status="partial",
                    batch=Continuation("tok", {"continuation_token": "tok"}, None, "denied"))
    document = batch.to_json()
    assert (document["status"], document["manifest"], document["manifest_error"]) == (
        "partial", None, "denied")
    assert document["next_event"] == {"continuation_token": "tok"}
    assert batch.failed("no-time", "late").to_json()["error_kind"] == "no-time"
