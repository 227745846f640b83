"""Entropy coding of quantized tensors: every coder tried on the same symbols, the smallest kept.

    stream  = u8 coder | u8 symbol width (1 or 2 bytes) | u32 count | payload   (little-endian)
    coders  = store | lzma | brotli | zstd   on the symbols' little-endian bytes
            | range                          order-0 range coding (`constriction`) with the
                                             symbol counts sent first, as LEB128 varints

Why all of them: general-purpose coders find repeats and structure that an order-0 model
cannot, while range coding with the tensor's own histogram gets within a few bytes of its
order-0 entropy (≈ 0.5 % under brotli on int8 weights); tiny tensors are cheapest stored. The
stream names its coder, so a decoder needs only the library of the coder that won (lzma is in
the standard library). Encoding is deterministic: the same symbols give the same bytes.

Imports nothing from tac, so submissions can carry this file verbatim next to their inflate.
"""

from __future__ import annotations

import lzma
import struct

import numpy as np

CODERS = ("store", "lzma", "brotli", "zstd", "range")
_HEADER = struct.Struct("<BBI")
_LZMA = {"format": lzma.FORMAT_RAW, "filters": [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]}  # fmt: skip
BROTLI_QUALITY, ZSTD_LEVEL = 11, 22


class EntropyError(ValueError):
    """A stream that cannot be decoded (truncated, corrupt, or from an unknown coder)."""


def _width(symbols: np.ndarray) -> int:
    if symbols.size == 0 or (symbols.min() >= -128 and symbols.max() <= 127):
        return 1
    if symbols.min() >= -32768 and symbols.max() <= 32767:
        return 2
    raise ValueError("entropy coding takes symbols in [-32768, 32767]")


def _dtype(width: int) -> np.dtype:
    return np.dtype("<i1" if width == 1 else "<i2")


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


# --- the coders ------------------------------------------------------------------------------


def _encode_with(coder: str, symbols: np.ndarray, width: int) -> bytes:
    raw = symbols.astype(_dtype(width)).tobytes()
    if coder == "store":
        return raw
    if coder == "lzma":
        return lzma.compress(raw, **_LZMA)
    if coder == "brotli":
        import brotli

        return brotli.compress(raw, quality=BROTLI_QUALITY)
    if coder == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
    if coder == "range":
        return _range_encode(symbols) if symbols.size else b""
    raise ValueError(f"unknown coder {coder!r}; known: {', '.join(CODERS)}")


def _decode_with(coder: str, payload: bytes, n: int, width: int) -> np.ndarray:
    if coder == "range":
        return _range_decode(payload, n) if n else np.zeros(0, np.int64)
    if coder == "store":
        raw = payload
    elif coder == "lzma":
        raw = lzma.decompress(payload, **_LZMA)
    elif coder == "brotli":
        import brotli

        raw = brotli.decompress(payload)
    else:
        import zstandard

        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=n * width)
    if len(raw) != n * width:
        raise EntropyError(f"{coder} stream: {len(raw)} bytes where {n * width} were expected")
    return np.frombuffer(raw, dtype=_dtype(width)).astype(np.int64)


def encode_all(symbols: np.ndarray, coders: tuple[str, ...] = CODERS) -> dict[str, bytes]:
    """The whole stream (header included) from each coder, for measuring them side by side."""
    symbols = np.ascontiguousarray(symbols).reshape(-1)
    if not np.issubdtype(symbols.dtype, np.integer):
        raise ValueError(f"entropy coding takes integer symbols, not {symbols.dtype}")
    width = _width(symbols)
    return {
        c: _HEADER.pack(CODERS.index(c), width, symbols.size) + _encode_with(c, symbols, width)
        for c in coders
    }


def encode(symbols: np.ndarray, coders: tuple[str, ...] = CODERS) -> bytes:
    """The smallest stream of `coders` (ties go to the earlier coder in CODERS)."""
    streams = encode_all(symbols, coders)
    return min(streams.values(), key=len)


def coder_of(stream: bytes) -> str:
    if len(stream) < _HEADER.size or stream[0] >= len(CODERS):
        raise EntropyError("not an entropy-coded stream (short, or unknown coder)")
    return CODERS[stream[0]]


def decode(stream: bytes) -> np.ndarray:
    """stream → int64 symbols (flat). Raises EntropyError on anything malformed."""
    coder = coder_of(stream)
    _, width, n = _HEADER.unpack_from(stream)
    if width not in (1, 2):
        raise EntropyError(f"{coder} stream: symbol width {width}")
    try:
        return _decode_with(coder, stream[_HEADER.size :], n, width)
    except EntropyError:
        raise
    except Exception as exc:  # a codec library's own error on corrupt bytes
        raise EntropyError(f"{coder} stream: {exc}") from None
