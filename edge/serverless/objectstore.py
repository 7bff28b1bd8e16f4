"""The few S3 calls the handler makes, with S3's errors turned into short, stable kinds.

boto3 is imported only when a client is made: it ships with the Lambda runtime, is not a
dependency of the edge runner, and `import edge` must stay light.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from edge.errors import EdgeError
from edge.serverless.events import ObjectRef, normalize_etag

_CHUNK = 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidObjectState"}


class ObjectError(EdgeError):
    """One object could not be read or written; `transient` errors are worth a retry."""

    def __init__(self, message: str, kind: str, transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


@dataclass(frozen=True)
class Fetched:
    etag: str | None
    size: int


def make_client(max_connections: int = 10):
    """An S3 client from the standard AWS environment (region, credentials, AWS_ENDPOINT_URL_S3)."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=max_connections, connect_timeout=5, read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"})
    # A new session reads the environment now, not the credentials cached by boto3's default.
    return boto3.session.Session().client("s3", config=config)


class ObjectStore:
    """Reads objects, looks up and writes results, lists prefixes; all errors are ObjectError."""

    def __init__(self, client) -> None:
        self.client = client

    def fetch(self, ref: ObjectRef, destination: str | os.PathLike, max_bytes: int) -> Fetched:
        """Download `ref` to a file, refusing objects over `max_bytes` before reading them."""
        response = self._call("read", ref, self.client.get_object, Bucket=ref.bucket, Key=ref.key)
        body = response["Body"]
        size = int(response.get("ContentLength") or 0)
        try:
            if size > max_bytes:
                raise too_large(size, max_bytes)
            written = 0
            with open(destination, "wb") as f:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    written += len(chunk)
                    if written > max_bytes:
                        raise too_large(written, max_bytes)
                    f.write(chunk)
        except ObjectError:
            raise
        except Exception as e:  # a connection dropped mid-body
            raise ObjectError(f"download interrupted: {e}", "download-failed", True) from None
        finally:
            body.close()
        return Fetched(normalize_etag(response.get("ETag")), written)

    def result_metadata(self, bucket: str, key: str) -> dict | None:
        """The user metadata of an existing result object, or None when there is none."""
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as e:
            if _code(e) in _NOT_FOUND:
                return None
            error = _object_error("look up the result", ObjectRef(bucket, key), e)
            if error.kind == "access-denied":
                error = ObjectError(f"{error} (without s3:ListBucket on the output bucket, S3 "
                                    "answers 403 for results that do not exist yet)", error.kind)
            raise error from None
        return dict(response.get("Metadata") or {})

    def put(self, bucket: str, key: str, body: bytes, content_type: str,
            metadata: dict[str, str] | None = None) -> None:
        self._call("write", ObjectRef(bucket, key), self.client.put_object, Bucket=bucket, Key=key,
                   Body=body, ContentType=content_type, Metadata=metadata or {})

    def put_json(self, bucket: str, key: str, document: dict, metadata=None) -> None:
        body = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        self.put(bucket, key, body, "application/json", metadata)

    def list_page(self, bucket: str, prefix: str, start_after: str | None,
                  max_keys: int) -> tuple[list[ObjectRef], bool]:
        """One listing page in key order after `start_after`; returns (objects, more to come)."""
        args = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if start_after:
            args["StartAfter"] = start_after
        response = self._call("list", ObjectRef(bucket, prefix), self.client.list_objects_v2,
                              **args)
        objects = [ObjectRef(bucket, o["Key"], normalize_etag(o.get("ETag")), int(o["Size"]))
                   for o in response.get("Contents", [])]
        return objects, bool(response.get("IsTruncated"))

    def _call(self, action: str, ref: ObjectRef, method, **kwargs):
        try:
            return method(**kwargs)
        except Exception as e:
            raise _object_error(action, ref, e) from None


def too_large(size: int, limit: int) -> ObjectError:
    return ObjectError(f"the object has {size} bytes, over MAX_OBJECT_BYTES={limit}",
                       "object-too-large")


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _object_error(action: str, ref: ObjectRef, error: Exception) -> ObjectError:
    where = f"s3://{ref.bucket}/{ref.key}"
    code = _code(error)
    if code in _NOT_FOUND:
        return ObjectError(f"cannot {action} {where}: it does not exist ({code})", "not-found")
    if code in _DENIED:
        return ObjectError(f"cannot {action} {where}: access denied ({code}); check the "
                           "function role's s3 permissions and the bucket policy", "access-denied")
    detail = f"{code}: {error}" if code else f"{type(error).__name__}: {error}"
    kind = "write-failed" if action == "write" else "download-failed"
    return ObjectError(f"cannot {action} {where}: {detail}", kind, transient=True)
