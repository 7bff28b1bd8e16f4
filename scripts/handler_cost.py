"""Per-photo time of the serverless handler as the queue drives it: the figure behind the cost
estimate in docs/serverless.md.

Uploads the first `--images` photos of the cats-vs-dogs validation folder to a local S3 server
(moto_server), then hands the handler SQS events of `--batch` S3 notifications each, in this
process, with the bundled model (or MODEL_PATH). Prints the cold start, then the wall and CPU
time per photo over all batches (HEAD result, GET, decode, classify, PUT), with the machine and
its load average before and after, since a shared machine inflates wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench.machine import cpu_model  # noqa: E402
from scripts.s3server import MotoServer  # noqa: E402

BUCKET = "pawlite-cost"
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "cats_and_dogs_filtered.zip"


def photos(data_zip: Path, count: int) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(data_zip) as z:
        names = sorted(n for n in z.namelist()
                       if "/validation/" in n and n.lower().endswith(".jpg"))
        return [(Path(n).name, z.read(n)) for n in names[:count]]


def sqs_event(client, keys: list[str]) -> dict:
    records = []
    for i, key in enumerate(keys):
        head = client.head_object(Bucket=BUCKET, Key=key)
        body = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": BUCKET},
                                    "object": {"key": key, "size": head["ContentLength"],
                                               "eTag": head["ETag"].strip('"')}}}]}
        records.append({"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(body),
                        "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}})
    return {"Records": records}


def measure(data_zip: Path, count: int, batch: int) -> dict:
    import boto3

    server = MotoServer.start()
    try:
        os.environ.update(server.env())
        client = boto3.client("s3", endpoint_url=server.endpoint)
        client.create_bucket(Bucket=BUCKET)
        keys = []
        for name, data in photos(data_zip, count):
            client.put_object(Bucket=BUCKET, Key=f"incoming/{name}", Body=data)
            keys.append(f"incoming/{name}")
        from edge import serverless

        load_before = os.getloadavg()
        started = time.perf_counter()
        serverless.get_worker()
        cold = time.perf_counter() - started
        walls, cpus = [], []
        for start in range(0, len(keys), batch):
            chunk = keys[start:start + batch]
            event = sqs_event(client, chunk)
            wall, cpu = time.perf_counter(), time.process_time()
            response = serverless.handler(event)
            walls.append((time.perf_counter() - wall) / len(chunk))
            cpus.append((time.process_time() - cpu) / len(chunk))
            if response["batchItemFailures"]:
                raise SystemExit(f"unexpected failures: {response}")
        done = len(client.list_objects_v2(Bucket=BUCKET, Prefix="pawlite-results/")
                   .get("Contents", []))
    finally:
        server.stop()
    return {"machine": f"{cpu_model()}, {os.cpu_count()} cores, {platform.machine()}",
            "photos": len(keys), "results": done, "batch": batch, "cold_start_s": cold,
            "wall_ms_per_photo": 1000 * sum(walls) / len(walls),
            "wall_ms_per_photo_median_batch": 1000 * statistics.median(walls),
            "cpu_ms_per_photo": 1000 * sum(cpus) / len(cpus),
            "load_before": load_before, "load_after": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args(argv)
    if not args.data_zip.is_file():
        print(f"error: {args.data_zip} not found: pass --data-zip cats_and_dogs_filtered.zip",
              file=sys.stderr)
        return 1
    print(json.dumps(measure(args.data_zip, args.images, args.batch), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
