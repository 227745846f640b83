"""Entropy coding of quantized tensors: every coder tried on the same symbols, the smallest kept.

    stream  = u8 coder | u8 symbol width (1 or 2 bytes) | u32 count | payload   (little-endian)
    coders  = store | lzma | brotli | zstd   on the symbols' little-endian bytes
            | range                          order-0 range coding (`constriction`) with the
                                             symbol counts sent first, as LEB128 varints

Why all of them: general-purpose coders find repeats and structure that an order-0 model
cannot, while range coding with the tensor's own histogram gets within a few bytes of its
order-0 entropy (≈ 0.5 % under brotli on int8 weights); tiny tensors are cheapest stored. The
stream names its coder, so a decoder needs only the library of the coder that won. Encoding is
deterministic: the same symbols give the same bytes.

This module holds the framing and the coders the official machine can decode (`PORTABLE`:
store, lzma from the standard library, brotli); zstd and range coding need libraries it lacks
and live in `entropy_more`, loaded when a stream or a caller asks for them. Submissions carry
this file verbatim (it imports nothing from tac) and code with `PORTABLE` only.
"""

from __future__ import annotations

import lzma
import struct

import numpy as np

CODERS = ("store", "lzma", "brotli", "zstd", "range")  # a stream's first byte: index here
PORTABLE = ("store", "lzma", "brotli")  # decodable with what the official machine has
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


# --- the coders ------------------------------------------------------------------------------
# name → (encode(symbols, raw little-endian bytes) → payload, decode(payload, n, width) → raw
# bytes or int64 symbols); `entropy_more` registers the rest


def _raw_decoder(fn):
    def decode(payload: bytes, n: int, width: int):
        return fn(payload, n * width)

    return decode


def _brotli_encode(symbols, raw: bytes) -> bytes:
    import brotli

    return brotli.compress(raw, quality=BROTLI_QUALITY)


def _brotli_decode(payload: bytes, size: int) -> bytes:
    import brotli

    return brotli.decompress(payload)


_CODERS: dict = {
    "store": (lambda symbols, raw: raw, _raw_decoder(lambda payload, size: payload)),
    "lzma": (lambda symbols, raw: lzma.compress(raw, **_LZMA), _raw_decoder(lambda payload, size: lzma.decompress(payload, **_LZMA))),
    "brotli": (_brotli_encode, _raw_decoder(_brotli_decode)),
}  # fmt: skip


def register_coder(name: str, encode, decode) -> None:
    if name not in CODERS:
        raise ValueError(f"coder {name!r} has no stream id; known: {', '.join(CODERS)}")
    _CODERS[name] = (encode, decode)


def _coder(name: str):
    if name not in CODERS:
        raise ValueError(f"unknown coder {name!r}; known: {', '.join(CODERS)}")
    if name not in _CODERS:
        try:
            from . import entropy_more  # noqa: F401  (registers zstd and range)
        except ImportError as exc:
            raise EntropyError(f"{name} streams need tac.quant.entropy_more ({exc})") from None
    return _CODERS[name]


def _encode_with(coder: str, symbols: np.ndarray, width: int) -> bytes:
    return _coder(coder)[0](symbols, symbols.astype(_dtype(width)).tobytes())


def _decode_with(coder: str, payload: bytes, n: int, width: int) -> np.ndarray:
    out = _coder(coder)[1](payload, n, width)
    if isinstance(out, np.ndarray):
        return out
    if len(out) != n * width:
        raise EntropyError(f"{coder} stream: {len(out)} bytes where {n * width} were expected")
    return np.frombuffer(out, dtype=_dtype(width)).astype(np.int64)


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
