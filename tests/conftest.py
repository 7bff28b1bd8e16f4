"""Shared fixtures: a private Keras cache, generated images, and the real data when present."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Keras reads KERAS_HOME at import: point it away from the user's cache before any test runs.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="pawlite-keras-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_ZIP = SHARED / "data" / "cats_and_dogs_filtered.zip"
SHARED_WEIGHTS = SHARED / "models" / "mobilenet_v2_1.0_160_no_top.h5"
OFFICIAL_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"


def _usable_url(url: str) -> str | None:
    """Why `url` cannot be used right now, or None when it can."""
    if url.startswith("file://"):
        return None if Path(url[len("file://") :]).is_file() else f"{url} does not exist"
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=3).close()
    except OSError as exc:
        return f"{url} is unreachable ({exc})"
    return None


def real_data_source() -> tuple[str | None, str]:
    """(data URL, reason) from PAWLITE_DATA_URL, else ../shared; URL None when unusable.

    `make test` always exports the Makefile's DATA_URL (the official URL by default), so an
    unreachable URL falls back to ../shared when it is there.
    """
    shared = f"file://{SHARED_ZIP}" if SHARED_ZIP.is_file() else None
    url = os.environ.get("PAWLITE_DATA_URL") or shared or OFFICIAL_URL
    reason = _usable_url(url)
    if reason and shared and url != shared:
        return shared, ""
    return (None, reason) if reason else (url, "")


def real_base_weights() -> str | None:
    weights = os.environ.get("PAWLITE_BASE_WEIGHTS") or (
        str(SHARED_WEIGHTS) if SHARED_WEIGHTS.is_file() else "imagenet"
    )
    if weights == "imagenet":
        if not _usable_url(
            "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
        ):
            return weights
        return str(SHARED_WEIGHTS) if SHARED_WEIGHTS.is_file() else None
    return weights if Path(weights).is_file() else None


@pytest.fixture(scope="session")
def real_data_url() -> str:
    url, reason = real_data_source()
    if url is None:
        pytest.skip(f"real dataset not available: {reason}; set DATA_URL=file://... to run")
    return url


@pytest.fixture(scope="session")
def real_split(real_data_url, tmp_path_factory):
    """The real dataset fetched through the product's own download path, and its split.

    That path is train's (Keras's file cache): on a device's install it skips, saying so."""
    pytest.importorskip("keras", reason="the real split is fetched by train, which needs Keras")
    from train.config import TrainConfig
    from train.prepare import prepare

    out = tmp_path_factory.mktemp("real-artifacts")
    return prepare(TrainConfig(data_url=real_data_url, out=out))


@pytest.fixture(scope="session")
def base_weights_path() -> str:
    weights = real_base_weights()
    if weights is None:
        pytest.skip("MobileNetV2 weights not available; set BASE_WEIGHTS=/path/to/weights.h5")
    return weights


@pytest.fixture(scope="module")
def server():
    """A local S3-compatible server (moto_server) for the serverless tests."""
    from scripts import s3server

    if s3server.moto_command() is None:
        pytest.skip("moto_server not installed: pip install 'moto[server]'")
    server = s3server.MotoServer.start()
    yield server
    server.stop()


@pytest.fixture
def s3(server, monkeypatch):
    """A boto3 client on a clean bucket, and the handler configured for it with the tiny model."""
    boto3 = pytest.importorskip("boto3")
    from edge import serverless
    from tests.edge_helpers import build_model
    from tests.serverless_helpers import BUCKET

    server.reset()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("MODEL_PATH", str(build_model("int8", 16)))
    for name in ("OUTPUT_PREFIX", "OUTPUT_BUCKET", "MAX_OBJECT_BYTES", "BATCH_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAFETY_MARGIN_MS", "1000")
    serverless.reset()
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    serverless.reset()
