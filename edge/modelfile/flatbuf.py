"""A read-only FlatBuffers table reader in pure Python (struct only).

The device has no `flatbuffers` package and no generated TFLite schema, yet the labels and the
input normalization of a third-party model live in flatbuffer tables (the model and its
TFLite Metadata). Reading a handful of fields needs only the wire format: a table starts with a
signed offset back to its vtable, the vtable lists each field's offset within the table, and
strings, vectors and sub-tables are reached through unsigned offsets relative to where the
offset is stored. Every read is bounds-checked by `struct`, so a damaged buffer raises
`FlatbufferError` instead of returning garbage.
"""

from __future__ import annotations

import struct

import numpy as np


class FlatbufferError(ValueError):
    """The bytes are not the flatbuffer they claim to be."""


class Table:
    """A view of one table inside `buf` (bytes, bytearray, memoryview or mmap)."""

    __slots__ = ("buf", "pos", "_vtable", "_vtable_len")

    def __init__(self, buf, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self._vtable = pos - _unpack("<i", buf, pos)
        self._vtable_len = _unpack("<H", buf, self._vtable)

    @classmethod
    def root(cls, buf, identifier: bytes | None = None, offset: int = 0) -> Table:
        """The root table of a buffer that starts at `offset`, checking its file identifier."""
        if identifier is not None and bytes(buf[offset + 4:offset + 8]) != identifier:
            raise FlatbufferError(f"missing file identifier {identifier!r}")
        return cls(buf, offset + _unpack("<I", buf, offset))

    def _field(self, slot: int) -> int:
        entry = 4 + 2 * slot
        if entry >= self._vtable_len:
            return 0
        relative = _unpack("<H", self.buf, self._vtable + entry)
        return self.pos + relative if relative else 0

    def has(self, slot: int) -> bool:
        return self._field(slot) != 0

    def scalar(self, slot: int, fmt: str, default=0):
        """A scalar field; `fmt` is a struct code such as "b", "B", "i", "I", "Q", "f"."""
        at = self._field(slot)
        return _unpack("<" + fmt, self.buf, at) if at else default

    def _indirect(self, at: int) -> int:
        return at + _unpack("<I", self.buf, at)

    def table(self, slot: int) -> Table | None:
        at = self._field(slot)
        return Table(self.buf, self._indirect(at)) if at else None

    def string(self, slot: int) -> str | None:
        data = self.bytes(slot)
        if data is None:
            return None
        return data.decode("utf-8", errors="replace")

    def bytes(self, slot: int) -> bytes | None:
        span = self._vector(slot)
        if span is None:
            return None
        start, length = span
        if start + length > len(self.buf):
            raise FlatbufferError("vector runs past the end of the buffer")
        return bytes(self.buf[start:start + length])

    def _vector(self, slot: int) -> tuple[int, int] | None:
        at = self._field(slot)
        if not at:
            return None
        vector = self._indirect(at)
        return vector + 4, _unpack("<I", self.buf, vector)

    def tables(self, slot: int) -> list[Table]:
        span = self._vector(slot)
        if span is None:
            return []
        start, length = span
        return [Table(self.buf, self._indirect(start + 4 * i)) for i in range(length)]

    def numbers(self, slot: int, dtype: str) -> np.ndarray:
        """A vector of scalars as a numpy array (`dtype` such as "<f4", "<i4")."""
        span = self._vector(slot)
        if span is None:
            return np.zeros(0, dtype)
        start, length = span
        size = np.dtype(dtype).itemsize * length
        if start + size > len(self.buf):
            raise FlatbufferError("vector runs past the end of the buffer")
        return np.frombuffer(bytes(self.buf[start:start + size]), dtype)


def _unpack(fmt: str, buf, at: int):
    if at < 0:
        raise FlatbufferError("negative offset")
    try:
        return struct.unpack_from(fmt, buf, at)[0]
    except struct.error as e:
        raise FlatbufferError(f"offset {at} out of range ({e})") from None
