"""Ordered, bounded, threaded map: decode in workers while the caller runs inference.

The input iterator is drained by a feeder thread into a bounded queue, so a slow or blocking
source (streamed discovery, `--watch` polling) never holds back results already decoded, and
memory stays bounded by `window` whatever the number of inputs.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ordered_batches(
    items: Iterable[Any],
    work: Callable[[Any], Any],
    batch_size: int,
    workers: int,
    window: int | None = None,
) -> Iterator[list[tuple[Any, Any]]]:
    """Yield lists of (item, work(item)) in input order, at most `batch_size` long.

    A batch holds the results ready in a row, so a partial batch is yielded as soon as the
    next result is not ready yet instead of waiting for a full one. Exceptions raised by
    `work` are returned as values (the caller decides); an exception from `items` is re-raised.
    """
    window = window or max(2 * batch_size, 4 * workers)
    inbox: queue.Queue = queue.Queue(maxsize=window)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(items, inbox, stop), daemon=True)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edge-decode")
    inflight: deque[tuple[Any, Future]] = deque()
    feeder.start()
    exhausted = False
    try:
        while True:
            while not exhausted and len(inflight) < window:
                item = _next(inbox, block=not inflight)
                if item is None:
                    break
                if item is _END:
                    exhausted = True
                elif isinstance(item, _Failure):
                    raise item.error
                else:
                    inflight.append((item[0], pool.submit(_capture, work, item[0])))
            if not inflight:
                if exhausted:
                    return
                continue
            batch = [_result(inflight.popleft())]
            while len(batch) < batch_size and inflight and inflight[0][1].done():
                batch.append(_result(inflight.popleft()))
            yield batch
    finally:
        stop.set()
        for _, future in inflight:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _feed(items: Iterable[Any], inbox: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(inbox, (item,), stop):
                return
        _put(inbox, _END, stop)
    except BaseException as e:  # handed to the consumer, which re-raises it
        _put(inbox, _Failure(e), stop)


def _put(inbox: queue.Queue, value: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            inbox.put(value, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _next(inbox: queue.Queue, block: bool) -> Any:
    if not block:
        try:
            return inbox.get_nowait()
        except queue.Empty:
            return None
    while True:
        try:
            return inbox.get(timeout=0.2)
        except queue.Empty:
            continue


def _capture(work: Callable[[Any], Any], item: Any) -> Any:
    try:
        return work(item)
    except Exception as e:
        return _Failure(e)


def _result(entry: tuple[Any, Future]) -> tuple[Any, Any]:
    item, future = entry
    value = future.result()
    if isinstance(value, _Failure):
        return item, value.error
    return item, value
