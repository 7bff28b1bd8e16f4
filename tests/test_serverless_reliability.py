"""The serverless handler where a deployment could go wrong, on the local S3 server:
poisoned SQS messages, odd keys and buckets, folder markers, overlapping prefixes, threads."""

from __future__ import annotations

import json
import threading

import pytest

from edge import serverless
from edge.serverless.objectstore import ObjectStore
from tests.serverless_helpers import (
    BLUE,
    BUCKET,
    OUT,
    RED,
    keys,
    result,
    s3_event,
    sqs_event,
    upload,
)

pytest.importorskip("boto3")


def test_a_poisoned_sqs_message_fails_only_itself(s3, monkeypatch):
    red = upload(s3, "q/red.jpg", RED)
    blue = upload(s3, "q/blue.png", BLUE)
    poisoned = json.dumps(s3_event([{**red, "key": "q/other.jpg", "size": 7}])).replace(
        '"size": 7', '"size": 1e999')  # valid JSON, infinite as a float
    negative = json.dumps(s3_event([{**red, "key": "q/neg.jpg", "size": -3}]))
    event = sqs_event({"m-red": json.dumps(s3_event([red])), "m-inf": poisoned,
                       "m-neg": negative, "m-blue": json.dumps(s3_event([blue]))})
    response = serverless.handler(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-inf"},
                                              {"itemIdentifier": "m-neg"}]}
    assert result(s3, "q/red.jpg")["label"] == "cats"
    assert result(s3, "q/blue.png")["label"] == "dogs"

    put_json = ObjectStore.put_json

    def broken_for_one_key(self, bucket, key, document, metadata=None):
        if key.endswith("blue.png.json"):
            raise RuntimeError("a bug that only this object triggers")
        return put_json(self, bucket, key, document, metadata)

    monkeypatch.setattr(ObjectStore, "put_json", broken_for_one_key)
    s3.delete_object(Bucket=BUCKET, Key=OUT + "q/blue.png.json")
    s3.delete_object(Bucket=BUCKET, Key=OUT + "q/red.jpg.json")
    event = sqs_event({"m-red": json.dumps(s3_event([red])),
                       "m-blue": json.dumps(s3_event([blue]))})
    assert serverless.handler(event) == {"batchItemFailures": [{"itemIdentifier": "m-blue"}]}
    assert result(s3, "q/red.jpg")["label"] == "cats"


def test_batch_request_inside_its_output_prefix_is_malformed(s3):
    upload(s3, "photos/red.jpg", RED)
    for request in ({"bucket": BUCKET, "prefix": "photos/", "output_prefix": "photos/"},
                    {"bucket": BUCKET, "prefix": OUT + "x/"}):
        response = serverless.handler(request)
        assert (response["status"], response["error_kind"]) == ("error", "malformed-event")
        assert "inside the output prefix" in response["error"]
    assert keys(s3, "photos/") == ["photos/red.jpg"]


def test_folder_markers_are_skipped_and_bad_names_are_permanent(s3):
    upload(s3, "in/folder/", b"")
    red = upload(s3, "in/red.jpg", RED)
    long_key = "in/" + "k" * 1010 + ".jpg"  # fine as a key, too long with the result prefix
    upload(s3, long_key, RED)
    event = s3_event([{"key": "in/folder/", "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                       "size": 0}, red, {**red, "key": long_key}])
    for bad in (None, "", 42):
        record = json.loads(json.dumps(event["Records"][1]))
        record["s3"]["object"]["key"] = bad
        event["Records"].append(record)
    record = json.loads(json.dumps(event["Records"][1]))
    record["s3"]["bucket"]["name"] = 123
    event["Records"].append(record)
    summary = serverless.handler(event)  # no RetryLater: nothing here gets better by retrying
    assert (summary["classified"], summary["errors"], summary["retry"]) == (1, 1, 0)
    assert summary["ignored"] == 1
    failures = {f.get("error_kind") for f in summary["failures"]}
    assert failures == {"key-too-long", "malformed-event"}
    malformed = [f for f in summary["failures"] if f.get("error_kind") == "malformed-event"]
    assert "key null" in malformed[0]["error_message"]
    assert "bucket name 123" in malformed[0]["error_message"]
    assert keys(s3, OUT) == [OUT + "in/red.jpg.json"]


def test_handler_calls_from_several_threads_take_turns(s3, monkeypatch):
    monkeypatch.delenv("MODEL_PATH")  # the bundled model: slow enough for calls to overlap
    serverless.reset()
    objects = [upload(s3, f"t/{i}.jpg", RED if i % 2 == 0 else BLUE) for i in range(48)]
    serverless.get_worker()
    errors, summaries = [], []
    start = threading.Barrier(4)

    def call(part):
        start.wait()
        try:
            i = 0
            while i < len(part):  # chunks of 1 to 3: the interpreter is resized between them
                size = 1 + len(summaries) % 3
                summaries.append(serverless.handler(s3_event(part[i:i + size])))
                i += size
        except Exception as e:  # collected: the assertion below names it
            errors.append(e)

    threads = [threading.Thread(target=call, args=(objects[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sum(s["classified"] for s in summaries) == 48
    assert len(keys(s3, OUT + "t/")) == 48


@pytest.fixture(autouse=True)
def _no_leftover_worker():
    yield
    serverless.reset()
