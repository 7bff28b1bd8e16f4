"""The serverless handler against a real S3-compatible server (moto_server on 127.0.0.1).

The tiny colour model from edge_helpers says "cats" for red images and "dogs" for blue ones.
"""

from __future__ import annotations

import json

import pytest

from edge import serverless
from tests.serverless_helpers import (
    BLUE,
    BUCKET,
    FIXTURES,
    OUT,
    RED,
    FakeContext,
    image_bytes,
    keys,
    result,
    s3_event,
    sqs_event,
    upload,
)

boto3 = pytest.importorskip("boto3")


def test_s3_notification_writes_one_result_per_image(s3):
    red = upload(s3, "incoming/red cat ü.jpg", RED)
    blue = upload(s3, "incoming/blue+dog.png", BLUE)
    summary = serverless.handler(s3_event([red, blue]), FakeContext(100))
    assert (summary["classified"], summary["errors"], summary["retry"]) == (2, 0, 0)
    cat, dog = result(s3, red["key"]), result(s3, blue["key"])
    assert (cat["label"], dog["label"]) == ("cats", "dogs")
    assert cat["path"] == f"s3://{BUCKET}/incoming/red cat ü.jpg"
    assert [name for name, _ in cat["top_k"]] == ["cats", "dogs"]
    assert cat["source"]["etag"] == red["eTag"] and cat["error_kind"] is None
    assert cat["model"]["sha256"] == summary["model_sha256"]
    assert summary["kernels"]["xnnpack"] is True and summary["kernels"]["threads"] >= 1


def test_redelivery_is_skipped_and_a_new_version_is_reclassified(s3):
    red = upload(s3, "a/pet.jpg", RED)
    event = s3_event([red])
    assert serverless.handler(event)["classified"] == 1
    first = s3.head_object(Bucket=BUCKET, Key=OUT + "a/pet.jpg.json")["ETag"]
    again = serverless.handler(event)
    assert (again["classified"], again["skipped"]) == (0, 1)
    assert s3.head_object(Bucket=BUCKET, Key=OUT + "a/pet.jpg.json")["ETag"] == first
    blue = upload(s3, "a/pet.jpg", BLUE)
    assert serverless.handler(s3_event([blue]))["classified"] == 1
    assert result(s3, "a/pet.jpg")["label"] == "dogs"
    assert keys(s3, OUT) == [OUT + "a/pet.jpg.json"]


def test_other_labels_or_crop_redo_a_result_instead_of_skipping_it(
        s3, tmp_path, monkeypatch):
    red = upload(s3, "s/pet.jpg", RED)
    event = s3_event([red])
    assert serverless.handler(event)["classified"] == 1
    swapped = tmp_path / "swapped.txt"
    swapped.write_text("dogs\ncats\n")
    monkeypatch.setenv("LABELS_PATH", str(swapped))
    serverless.reset()
    again = serverless.handler(event)
    assert (again["classified"], again["skipped"]) == (1, 0)
    assert result(s3, "s/pet.jpg")["label"] == "dogs"
    assert serverless.handler(event)["skipped"] == 1
    monkeypatch.setenv("CROP", "center")
    serverless.reset()
    assert serverless.handler(event)["classified"] == 1


def test_sqs_reports_only_retryable_messages(s3, monkeypatch):
    red = upload(s3, "q/red.jpg", RED)
    ok = json.dumps(s3_event([red]))
    missing = json.dumps(s3_event([{"key": "q/gone.jpg", "eTag": "abc", "size": 10}]))
    fixture = json.loads((FIXTURES / "sqs_s3_messages.json").read_text())
    event = sqs_event({"m-ok": ok, "m-dup": ok, "m-missing": missing, "m-bad": "{oops"})
    event["Records"].append(fixture["Records"][1])  # S3's s3:TestEvent: nothing to do
    response = serverless.handler(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert result(s3, "q/red.jpg")["label"] == "cats"
    assert result(s3, "q/gone.jpg")["error_kind"] == "not-found"

    monkeypatch.setenv("OUTPUT_BUCKET", "no-such-bucket")
    serverless.reset()
    response = serverless.handler(sqs_event({"m-ok": ok}))
    assert response == {"batchItemFailures": []}  # permanent: no retry into the DLQ


def test_s3_batch_operations_report_a_result_code_per_task(s3):
    upload(s3, "photos/red cat ü.jpg", RED)
    upload(s3, "photos/text.jpg", b"not an image")
    event = json.loads((FIXTURES / "s3_batch_operations.json").read_text())
    task = event["tasks"][0]
    event["tasks"] += [dict(task, taskId="t-text", s3Key="photos/text.jpg"),
                       dict(task, taskId="t-gone", s3Key="photos/gone.jpg")]
    response = serverless.handler(event)
    assert response["invocationId"] == event["invocationId"]
    assert response["invocationSchemaVersion"] == "2.0"
    codes = {r["taskId"]: (r["resultCode"], r["resultString"].split(":")[0])
             for r in response["results"]}
    assert codes == {task["taskId"]: ("Succeeded", "classified"),
                     "t-text": ("PermanentFailure", "not-an-image"),
                     "t-gone": ("PermanentFailure", "not-found")}
    assert result(s3, "photos/red cat ü.jpg")["label"] == "cats"


def test_short_budget_defers_sqs_messages_and_retries_s3_events(s3):
    red = upload(s3, "t/red.jpg", RED)
    response = serverless.handler(sqs_event({"m1": json.dumps(s3_event([red]))}), FakeContext(0))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert keys(s3, OUT) == []
    with pytest.raises(serverless.RetryLater, match="1 object"):
        serverless.handler(s3_event([red]), FakeContext(0))
    batch = serverless.handler({"bucket": BUCKET}, FakeContext(0))
    assert (batch["status"], batch["error_kind"]) == ("error", "no-time")
    assert batch["next_event"]["continuation_token"] == serverless.encode_token(None)


def test_batch_request_pages_with_continuation_and_reruns_idempotently(s3, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "2")
    monkeypatch.setenv("LIST_PAGE_SIZE", "3")
    serverless.reset()
    names = [f"photos/{i}.jpg" for i in range(5)]
    for i, name in enumerate(names):
        upload(s3, name, RED if i % 2 == 0 else BLUE)
    upload(s3, "photos/notes.txt", b"not a photo")
    upload(s3, "photos/.DS_Store", b"\0\0\0\1Bud1")
    event = json.loads((FIXTURES / "batch_request.json").read_text())

    first = serverless.handler(event, FakeContext(3))
    assert first["status"] == "partial" and 0 < first["classified"] < 5
    second = serverless.handler(first["next_event"], FakeContext(100))
    assert second["status"] == "complete" and second["continuation_token"] is None
    assert first["classified"] + second["classified"] == 5
    assert first["not_images"] + second["not_images"] == 2
    assert sorted(keys(s3, OUT + "photos/")) == sorted(OUT + n + ".json" for n in names)
    labels = [result(s3, n)["label"] for n in names]
    assert labels == ["cats", "dogs", "cats", "dogs", "cats"]

    manifests = keys(s3, OUT + "_manifests/")
    lines = [json.loads(line) for key in manifests for line in
             s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()]
    assert len(manifests) == 2 and sorted(line["key"] for line in lines) == names

    rerun = serverless.handler(event, FakeContext(100))
    assert (rerun["classified"], rerun["skipped"], rerun["status"]) == (0, 5, "complete")
    assert len(keys(s3, OUT + "photos/")) == 5


def test_bad_objects_become_error_results(s3, monkeypatch):
    monkeypatch.setenv("MAX_OBJECT_BYTES", "5000")
    serverless.reset()
    big = image_bytes((250, 10, 10), "PNG", (200, 200))
    noisy = bytes(range(256)) * 40
    assert len(big) > 500 and len(noisy) > 5000
    objects = [
        upload(s3, "bad/text.jpg", b"this is not a picture"),
        upload(s3, "bad/truncated.jpg", RED[: len(RED) // 2]),
        upload(s3, "bad/huge.jpg", noisy),
        {**upload(s3, "bad/huge-unsized.jpg", noisy), "size": None},
        {"key": "bad/missing.jpg", "eTag": "0" * 32, "size": 100},
        upload(s3, OUT + "bad/text.jpg.json", b"{}"),
        upload(s3, "bad/report.json", b"{}"),
    ]
    summary = serverless.handler(s3_event(objects))
    assert (summary["errors"], summary["ignored"], summary["retry"]) == (5, 2, 0)
    kinds = {name: result(s3, "bad/" + name)["error_kind"] for name in
             ("text.jpg", "truncated.jpg", "huge.jpg", "huge-unsized.jpg", "missing.jpg")}
    assert kinds == {"text.jpg": "not-an-image", "truncated.jpg": "truncated",
                     "huge.jpg": "object-too-large", "huge-unsized.jpg": "object-too-large",
                     "missing.jpg": "not-found"}
    assert "MAX_OBJECT_BYTES=5000" in result(s3, "bad/huge.jpg")["error_message"]
    again = serverless.handler(s3_event(objects[:2]))
    assert again["skipped"] == 2


def test_malformed_events_return_an_error_summary(s3):
    for event in ("text", {}, {"bucket": BUCKET, "continuation_token": "garbage"}):
        response = serverless.handler(event)
        assert response["status"] == "error" and response["error_kind"] == "malformed-event"
    response = serverless.handler({"bucket": "no-such-bucket"})
    assert (response["status"], response["error_kind"]) == ("error", "not-found")


def _as_user(server, monkeypatch, deny: dict) -> None:
    """Credentials of a user that may do everything on S3 but `deny`."""
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1")
    iam.create_user(UserName="writer")
    iam.put_user_policy(UserName="writer", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                      {"Effect": "Deny", **deny}]}))
    key = iam.create_access_key(UserName="writer")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    serverless.reset()


@pytest.mark.parametrize("problem", ["denied", "no bucket"])
def test_a_permanent_write_error_is_reported_once_not_retried(s3, server, monkeypatch,
                                                              caplog, problem):
    ok = upload(s3, "in/red.jpg", RED)
    if problem == "denied":
        _as_user(server, monkeypatch, {"Action": "s3:PutObject",
                                       "Resource": f"arn:aws:s3:::{BUCKET}/{OUT}*"})
        server.set_auth(True)
    else:
        monkeypatch.setenv("OUTPUT_BUCKET", "no-such-bucket")
        serverless.reset()
    try:
        response = serverless.handler(sqs_event({"m-ok": json.dumps(s3_event([ok]))}))
        summary = serverless.handler(s3_event([ok]))
    finally:
        server.set_auth(False)
    assert response == {"batchItemFailures": []}
    assert (summary["errors"], summary["retry"]) == (1, 0)
    kind = "access-denied" if problem == "denied" else "not-found"
    (failure,) = summary["failures"]
    assert failure["error_kind"] == kind and "permanent" in failure["error_message"]
    assert sum("permanent write error" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("value", ["5", "nan", "-0.1"])
def test_threshold_outside_0_to_1_is_a_configuration_error(s3, monkeypatch, value):
    from edge.serverless.config import ConfigError, ServerlessConfig

    with pytest.raises(ConfigError, match="between 0 and 1"):
        ServerlessConfig.from_env({"THRESHOLD": value})


def test_a_new_threshold_redoes_the_results(s3, monkeypatch):
    ok = upload(s3, "in/red.jpg", RED)
    monkeypatch.setenv("THRESHOLD", "0.9999")
    serverless.reset()
    serverless.handler(s3_event([ok]))
    assert result(s3, "in/red.jpg")["label"] == "uncertain"
    monkeypatch.setenv("THRESHOLD", "0.5")
    serverless.reset()
    summary = serverless.handler(s3_event([ok]))
    assert summary["classified"] == 1
    assert result(s3, "in/red.jpg")["label"] == "cats"


def test_access_denied_is_an_error_result(s3, server, monkeypatch):
    upload(s3, "secret/red.jpg", RED)
    ok = upload(s3, "open/red.jpg", RED)
    secret = {**ok, "key": "secret/red.jpg"}
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1")
    iam.create_user(UserName="fn")
    iam.put_user_policy(UserName="fn", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/secret/*"},
        ]}))
    key = iam.create_access_key(UserName="fn")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    serverless.reset()
    server.set_auth(True)
    try:
        summary = serverless.handler(s3_event([ok, secret]))
    finally:
        server.set_auth(False)
    assert (summary["classified"], summary["errors"]) == (1, 1)
    denied = result(s3, "secret/red.jpg")
    assert denied["error_kind"] == "access-denied" and "permissions" in denied["error_message"]


def test_the_old_thread_variable_is_named_not_ignored():
    from edge.serverless.config import ConfigError, ServerlessConfig

    with pytest.raises(ConfigError, match="NUM_THREADS='2' is not read: the thread count is "
                                          "THREADS"):
        ServerlessConfig.from_env({"NUM_THREADS": "2"})
