"""The coders of `entropy` that need libraries the official machine lacks: zstd and order-0
range coding (`constriction`), with the symbol counts sent first as LEB128 varints.

Importing this module registers them with `entropy` (which imports it when a stream or a caller
names one). tac uses them to measure; submissions code with `entropy.PORTABLE` and do not carry
this file.
"""

from __future__ import annotations

import numpy as np

from .entropy import ZSTD_LEVEL, EntropyError, register_coder

# --- LEB128 varints for the range coder's histogram ----------------------------------------


def _varints(values: np.ndarray) -> bytes:
    out = bytearray()
    for v in values.tolist():
        while True:
            byte, v = v & 0x7F, v >> 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                break
    return bytes(out)


def _read_varints(data: bytes, pos: int, n: int) -> tuple[list[int], int]:
    values = []
    for _ in range(n):
        value = shift = 0
        while True:
            if pos >= len(data) or shift > 35:
                raise EntropyError("range stream: histogram is truncated")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        values.append(value)
    return values, pos


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def _unzigzag(z: int) -> int:
    return z // 2 if z % 2 == 0 else -(z + 1) // 2


def _model(counts: np.ndarray):
    import constriction

    # float64 probabilities from integer counts: the same on both sides, bit for bit
    return constriction.stream.model.Categorical(counts / counts.sum(), perfect=False)


def _range_encode(symbols: np.ndarray) -> bytes:
    import constriction

    lo = int(symbols.min())
    shifted = (symbols.astype(np.int64) - lo).astype(np.int32)
    counts = np.bincount(shifted)
    head = _varints(np.array([_zigzag(lo), len(counts)])) + _varints(counts)
    if len(counts) == 1:  # one distinct symbol: the histogram says it all
        return head
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(shifted, _model(counts))
    return head + encoder.get_compressed().astype("<u4").tobytes()


def _range_decode(payload: bytes, n: int) -> np.ndarray:
    import constriction

    (zlo, span), pos = _read_varints(payload, 0, 2)
    if not 0 < span <= 65536:
        raise EntropyError(f"range stream: alphabet of {span} symbols")
    counts, pos = _read_varints(payload, pos, span)
    counts = np.array(counts, dtype=np.float64)
    if counts.sum() != n or (len(payload) - pos) % 4:
        raise EntropyError("range stream: histogram does not match the symbol count")
    if span == 1:
        return np.full(n, _unzigzag(zlo), dtype=np.int64)
    words = np.frombuffer(payload[pos:], dtype="<u4").astype(np.uint32)
    decoded = constriction.stream.queue.RangeDecoder(words).decode(_model(counts), n)
    return decoded.astype(np.int64) + _unzigzag(zlo)


def _zstd_encode(symbols: np.ndarray, raw: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)


def _zstd_decode(payload: bytes, n: int, width: int) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompress(payload, max_output_size=n * width)


register_coder("zstd", _zstd_encode, _zstd_decode)
register_coder(
    "range",
    lambda symbols, raw: _range_encode(symbols) if symbols.size else b"",
    lambda payload, n, width: _range_decode(payload, n) if n else np.zeros(0, np.int64),
)
