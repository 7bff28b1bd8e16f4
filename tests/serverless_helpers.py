"""Shared helpers for the serverless tests: events built from the documented fixtures, and
reading results back from the local S3 server (the `server` and `s3` fixtures are in conftest).

The tiny colour model from edge_helpers says "cats" for red images and "dogs" for blue ones.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

from tests.edge_helpers import solid

FIXTURES = Path(__file__).parent / "fixtures"
BUCKET = "pawlite-test"
OUT = "pawlite-results/"


class FakeContext:
    """Plenty of time for the first `calls` budget checks, then almost none."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 600_000 if self.calls >= 0 else 100


def image_bytes(colour, fmt="JPEG", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    solid(colour, size).save(buffer, format=fmt)
    return buffer.getvalue()


RED, BLUE = image_bytes((250, 10, 10)), image_bytes((10, 10, 250), "PNG")


def upload(s3, key: str, data: bytes) -> dict:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    head = s3.head_object(Bucket=BUCKET, Key=key)
    return {"key": key, "eTag": head["ETag"].strip('"'), "size": head["ContentLength"]}


def s3_event(objects: list[dict]) -> dict:
    """The documented notification fixture, one record per object, keys URL-encoded as S3 does."""
    from urllib.parse import quote_plus

    event = json.loads((FIXTURES / "s3_object_created.json").read_text())
    template = event["Records"][0]
    event["Records"] = []
    for obj in objects:
        record = copy.deepcopy(template)
        record["s3"]["object"] = {**obj, "key": quote_plus(obj["key"], safe="/")}
        if obj.get("size") is None:
            record["s3"]["object"].pop("size")
        event["Records"].append(record)
    return event


def sqs_event(bodies: dict[str, str]) -> dict:
    event = json.loads((FIXTURES / "sqs_s3_messages.json").read_text())
    template = event["Records"][0]
    event["Records"] = [dict(template, messageId=mid, body=body) for mid, body in bodies.items()]
    return event


def result(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=OUT + key + ".json")["Body"].read())


def keys(s3, prefix="") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]
