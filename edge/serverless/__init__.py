"""The serverless handler: classify images in S3-compatible object storage (docs/serverless.md).

`edge.serverless.handler` is the name deployed functions are configured with, so it stays
here. The modules: `dispatch` (the handler, one branch per event kind), `events` (parsing the
platform's events), `work` (download, classify, write one result per object), `batch`
(resumable prefix listings), `config` (environment variables), `summary` (the response),
`objectstore` (the only module that imports boto3, lazily).
"""

from edge.serverless.dispatch import (
    RetryLater,
    decode_token,
    encode_token,
    get_worker,
    handler,
    process_event,
    reset,
)

__all__ = ["RetryLater", "decode_token", "encode_token", "get_worker", "handler",
           "process_event", "reset"]
