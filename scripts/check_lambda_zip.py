"""Check a built Lambda zip the way Lambda runs it: unzipped alone, in an isolated interpreter.

Steps: unzip the zip for this machine's architecture into an empty folder; start moto_server on
127.0.0.1; upload photos (a few from the cats-vs-dogs validation set when ../shared has it, else
generated colour images) and one non-image; invoke `edge.serverless.handler` with a batch request
in `python3.12 -I -S`, whose sys.path is the standard library, the unzipped folder, and a
separate folder holding boto3 and its dependencies (botocore, s3transfer, jmespath, urllib3,
python-dateutil, six), standing in for the boto3 that the Lambda runtime provides; then compare
every result with this environment's `edge.Classifier` on the same bytes (same labels,
probabilities within 1e-5). Prints the cold start and per-image times measured in the handler.
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.s3server import MotoServer  # noqa: E402

BUCKET = "pawlite-zip-check"
AWS_RUNTIME_PACKAGES = ("boto3",)
RUNNER = """
import json, os, sys, time
task, runtime, local = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [task, runtime]
started = time.perf_counter()
from edge import serverless
imported = time.perf_counter()
worker = serverless.get_worker()
loaded = time.perf_counter()
response = serverless.handler(json.loads(sys.stdin.read()), None)
handled = time.perf_counter()
files = sorted(os.path.join(local, name) for name in os.listdir(local))
rows = list(worker.classifier.classify_paths(files, batch_size=1))
import numpy, resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"max_rss_mb": rss, "import_s": imported - started, "load_s": loaded - imported,
                  "handler_s": handled - loaded, "classify_s": time.perf_counter() - handled,
                  "classify_n": len(rows), "response": response,
                  "sys_path": sys.path, "edge": serverless.__file__, "numpy": numpy.__file__}))
"""


class CheckError(Exception):
    pass


def find_python(explicit: str | None) -> str:
    """A Python 3.12 interpreter: --python, $LAMBDA_PYTHON, python3.12 on PATH, or pyenv's."""
    candidates = [explicit, os.environ.get("LAMBDA_PYTHON"), shutil.which("python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return candidate
    raise CheckError("no Python 3.12 found (the zip holds cp312 wheels): pass --python PATH "
                     "or set LAMBDA_PYTHON")


def aws_runtime_deps(folder: Path) -> Path:
    """boto3 and its dependencies in their own folder (cached), as Lambda's /var/runtime."""
    if (folder / "boto3").is_dir():
        return folder
    try:
        packages = [f"boto3=={importlib.metadata.version('boto3')}"]
    except importlib.metadata.PackageNotFoundError:
        packages = list(AWS_RUNTIME_PACKAGES)
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--target", str(folder), "--only-binary=:all:", "--python-version",
         "3.12", "--implementation", "cp", "--platform", "any", *packages],
        capture_output=True, text=True)
    if completed.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise CheckError(f"pip could not fetch {packages}: {completed.stderr[-2000:]}")
    return folder


def sample_images(count: int) -> dict[str, tuple[bytes, str | None]]:
    """{key: (bytes, expected class or None)}: real photos when the dataset zip is present."""
    dataset = ROOT.parent / "shared" / "data" / "cats_and_dogs_filtered.zip"
    images: dict[str, tuple[bytes, str | None]] = {}
    if dataset.is_file():
        with zipfile.ZipFile(dataset) as archive:
            names = sorted(archive.namelist())
            for label in ("cats", "dogs"):
                picked = [n for n in names if f"/validation/{label}/" in n
                          and n.endswith(".jpg")][:count // 2]
                for name in picked:
                    images[f"photos/{label}/{Path(name).name}"] = (archive.read(name), label)
        return images
    from PIL import Image

    for i in range(count):
        label, colour = ("cats", (230, 30, 30)) if i % 2 == 0 else ("dogs", (30, 30, 230))
        buffer = io.BytesIO()
        Image.new("RGB", (64 + i, 48), colour).save(buffer, format="JPEG")
        images[f"photos/{label}/{i}.jpg"] = (buffer.getvalue(), label)
    return images


def run_isolated(python: str, task: Path, runtime: Path, local: Path, event: dict,
                 env: dict) -> dict:
    """Invoke the handler once (cold), then time classification alone on local copies."""
    command = [python, "-I", "-S", "-c", RUNNER, str(task), str(runtime), str(local)]
    completed = subprocess.run(command,
                               input=json.dumps(event), capture_output=True, text=True,
                               env=env, timeout=300)
    if completed.returncode != 0:
        raise CheckError(f"the handler failed in the isolated interpreter:\n"
                         f"{completed.stderr[-4000:]}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    for entry in report["sys_path"]:
        if "site-packages" in entry or "dist-packages" in entry:
            raise CheckError(f"the isolated interpreter saw {entry} on sys.path")
    if not report["edge"].startswith(str(task)) or not report["numpy"].startswith(str(task)):
        raise CheckError(f"edge/numpy were not imported from the zip: {report['edge']}")
    return report


def compare(s3, images: dict, model_path: Path, work: Path) -> list[str]:
    """Problems found comparing the handler's results with this environment's Classifier."""
    from edge import Classifier

    classifier = Classifier(model_path)
    problems = []
    for i, (key, (data, _)) in enumerate(sorted(images.items())):
        local = work / f"local-{i}"
        local.write_bytes(data)
        (expected,) = classifier.classify_paths([local], top_k=2)
        body = s3.get_object(Bucket=BUCKET, Key=f"pawlite-results/{key}.json")["Body"].read()
        got = json.loads(body)
        if got["label"] != expected.label or got["error_kind"] != expected.error_kind:
            problems.append(f"{key}: zip says {got['label'] or got['error_kind']}, "
                            f"this environment says {expected.label or expected.error_kind}")
        elif expected.probabilities is not None and max(
                abs(a - b) for a, b in zip(got["probabilities"], expected.probabilities,
                                           strict=True)) > 1e-5:
            problems.append(f"{key}: probabilities differ: {got['probabilities']} vs "
                            f"{list(expected.probabilities)}")
    return problems


def _label(s3, key: str) -> str | None:
    body = s3.get_object(Bucket=BUCKET, Key=f"pawlite-results/{key}.json")["Body"].read()
    return json.loads(body)["label"]


def check(zip_path: Path, python: str, deps: Path, count: int, extra_env: dict) -> int:
    import boto3

    work = Path(tempfile.mkdtemp(prefix="pawlite-zip-check-"))
    server = MotoServer.start()
    try:
        task = work / "task"
        task.mkdir()
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task)
        model = task / "edge" / "models" / "cats_vs_dogs_int8.tflite"
        s3 = boto3.session.Session(**{k.lower(): v for k, v in server.env().items()
                                      if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
                                   ).client("s3", endpoint_url=server.endpoint,
                                            region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        images = sample_images(count)
        images["photos/not-a-photo.jpg"] = (b"plain text, not an image", None)
        for key, (data, _) in images.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), **server.env(),
               "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        local = work / "local"
        local.mkdir()
        for i, (data, label) in enumerate(images.values()):
            if label:
                (local / f"{i:04d}").write_bytes(data)
        event = {"bucket": BUCKET, "prefix": "photos/"}
        report = run_isolated(python, task, deps, local, event, {**env, **extra_env})
        response = report["response"]
        problems = compare(s3, images, model, work)
        photos = [v for v in images.values() if v[1]]
        print(f"zip: {zip_path}\npython: {python} -I -S; sys.path: stdlib + {task} + {deps}")
        print(f"import {report['import_s']:.3f} s, model load {report['load_s']:.3f} s "
              f"(cold start {report['import_s'] + report['load_s']:.3f} s)")
        print(f"handler: {response['classified']} classified, {response['errors']} error(s) in "
              f"{report['handler_s']:.3f} s = {report['handler_s'] / len(images) * 1000:.1f} "
              f"ms per object incl. local S3 round trips; peak RSS {report['max_rss_mb']:.0f} MB")
        print(f"classification alone (decode + resize + invoke, one at a time): "
              f"{report['classify_s'] / report['classify_n'] * 1000:.1f} ms per image")
        right = sum(_label(s3, key) == label for key, (_, label) in images.items() if label)
        print(f"labels matching the photo's folder: {right}/{len(photos)}")
        agree = len(images) - len(problems)
        print(f"{agree}/{len(images)} results identical to this environment's Classifier "
              f"({len(photos)} photos + 1 non-image)")
        if response["classified"] != len(photos) or response["errors"] != 1:
            problems.append(f"unexpected counts: {response}")
        for problem in problems:
            print(f"MISMATCH {problem}", file=sys.stderr)
        return 1 if problems else 0
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())
    default_zip = ROOT / "build" / "lambda" / f"pawlite-lambda-{arch}.zip"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=default_zip)
    parser.add_argument("--python", help="a Python 3.12 interpreter (default: found)")
    parser.add_argument("--aws-deps", type=Path, default=ROOT / "build" / "lambda" / "aws-runtime",
                        help="folder for boto3 and its dependencies (made if missing)")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra handler environment, e.g. THREADS=2")
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)
    try:
        if not args.zip.is_file():
            raise CheckError(f"{args.zip} does not exist: run `make lambda` first")
        python = find_python(args.python)
        deps = aws_runtime_deps(args.aws_deps)
        return check(args.zip, python, deps, args.images, extra_env)
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
