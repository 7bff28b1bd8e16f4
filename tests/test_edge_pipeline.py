"""edge.run.pipeline: order, batching, bounded look-ahead and error passing."""

import threading
import time

import pytest

from edge.run.pipeline import ordered_batches


def test_order_is_kept_and_errors_are_values():
    def work(i):
        time.sleep(0.001 * (i % 3))
        if i == 5:
            raise ValueError("five")
        return i * 10

    batches = list(ordered_batches(range(20), work, batch_size=4, workers=3))
    flat = [pair for batch in batches for pair in batch]
    assert [item for item, _ in flat] == list(range(20))
    assert all(len(b) <= 4 for b in batches)
    assert isinstance(flat[5][1], ValueError)
    assert [v for i, v in flat if i != 5] == [i * 10 for i in range(20) if i != 5]


def test_source_errors_are_raised():
    def source():
        yield 1
        raise RuntimeError("walk failed")

    with pytest.raises(RuntimeError, match="walk failed"):
        list(ordered_batches(source(), lambda x: x, batch_size=2, workers=1))


def test_memory_is_bounded_by_the_window():
    pulled = []

    def source():
        for i in range(10_000):
            pulled.append(i)
            yield i

    gen = ordered_batches(source(), lambda x: x, batch_size=2, workers=1, window=4)
    next(gen)
    time.sleep(0.2)
    assert len(pulled) < 20
    gen.close()


def test_a_slow_source_does_not_hold_back_ready_results():
    release = threading.Event()

    def source():
        yield "first"
        release.wait(5)
        yield "second"

    gen = ordered_batches(source(), str.upper, batch_size=8, workers=1)
    start = time.monotonic()
    assert next(gen) == [("first", "FIRST")]
    assert time.monotonic() - start < 2
    release.set()
    assert next(gen) == [("second", "SECOND")]
