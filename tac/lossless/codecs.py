"""Chunk codecs: one registry entry per general-purpose compressor, plus the `auto` policy.

A codec turns one chunk (at most the container's chunk size) into a self-contained payload and
back. The container stores the codec's id byte and the chunk's raw size next to the payload, so
every decoder is told exactly how many bytes it may produce and must refuse to produce more: each
one asks its library for at most `raw_size + 1` bytes (or decodes in bounded pieces where the
library has no output limit), so a hostile payload can never make tac allocate more than about
one chunk. Decoder memory is bounded the same way: the lzma dictionary and the zstd window are
derived from the declared raw size, and the PPMd model size is capped.

`auto` is not a codec but a policy: compress the chunk with every codec and keep the smallest
payload, `store` winning ties, so incompressible data costs nothing but the chunk header.

Ids are part of the on-disk format (docs/lossless-format.md): never renumber, only append.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

import brotli
import pyppmd
import zstandard

from tac.errors import TacError


class CodecError(Exception):
    """A payload that does not decode to exactly its declared size (the container adds the file)."""


@dataclass(frozen=True)
class Codec:
    """One compressor: `compress` is deterministic, `decompress` is bounded by `raw_size`."""

    name: str
    id: int
    min_level: int | None  # None: the codec takes no level
    max_level: int | None
    default_level: int | None
    level_meaning: str
    _encode: Callable[[bytes, int | None], bytes]
    _decode: Callable[[bytes, int], bytes]

    def check_level(self, level: int | None) -> int | None:
        """The level to use, or a TacError naming the valid range."""
        if level is None:
            return self.default_level
        if self.min_level is None or self.max_level is None:
            raise TacError(f"--level {level}: codec {self.name} takes no level")
        if not self.min_level <= level <= self.max_level:
            raise TacError(
                f"--level {level}: codec {self.name} takes {self.level_meaning} "
                f"{self.min_level}..{self.max_level}"
            )
        return level

    def compress(self, data: bytes, level: int | None = None) -> bytes:
        return self._encode(data, self.check_level(level))

    def decompress(self, payload: bytes, raw_size: int) -> bytes:
        """Exactly `raw_size` bytes, or CodecError; never allocates much more than `raw_size`."""
        try:
            out = self._decode(payload, raw_size)
        except CodecError:
            raise
        except Exception as exc:  # each library has its own error types; all mean "corrupt"
            raise CodecError(
                f"{self.name} payload is corrupt ({type(exc).__name__}: {exc})"
            ) from exc
        if len(out) > raw_size:
            raise CodecError(f"{self.name} payload decodes to more than the declared {raw_size} B")
        if len(out) != raw_size:
            raise CodecError(
                f"{self.name} payload decodes to {len(out)} B, the chunk declares {raw_size} B"
            )
        return out


def _too_large(name: str, raw_size: int) -> CodecError:
    return CodecError(f"{name} payload decodes to more than the declared {raw_size} B")


def _next_pow2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


# --- store -------------------------------------------------------------------------------------


def _store_decode(payload: bytes, raw_size: int) -> bytes:
    if len(payload) != raw_size:
        raise CodecError(f"store payload is {len(payload)} B, the chunk declares {raw_size} B")
    return payload


# --- zlib: raw deflate (no zlib header or adler32: the container has its own CRCs) -------------


def _zlib_encode(data: bytes, level: int | None) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return c.compress(data) + c.flush()


def _zlib_decode(payload: bytes, raw_size: int) -> bytes:
    d = zlib.decompressobj(-15)
    out = d.decompress(payload, raw_size + 1)  # max_length is >= 1 here, so never "unlimited"
    if len(out) > raw_size:
        raise _too_large("zlib", raw_size)
    if not d.eof:
        raise CodecError("zlib payload ends before its end-of-stream marker (truncated)")
    if d.unused_data:
        raise CodecError("zlib payload has bytes after its end-of-stream marker")
    return out


# --- lzma / bz2: stdlib decompressor objects with max_length ----------------------------------


def _bounded_stdlib(name: str, d: lzma.LZMADecompressor | bz2.BZ2Decompressor, payload, raw_size):
    out = d.decompress(payload, max_length=raw_size + 1)
    if len(out) > raw_size:
        raise _too_large(name, raw_size)
    if not d.eof:
        raise CodecError(f"{name} payload ends before its end-of-stream marker (truncated)")
    if d.unused_data:
        raise CodecError(f"{name} payload has bytes after its end-of-stream marker")
    return out


def _lzma_filters(raw_size: int, preset: int = 0) -> list[dict]:
    # A raw LZMA2 stream is self-describing except for the dictionary size. No match can reach
    # further back than the chunk itself, so both sides derive it from the raw size: the decoder
    # needs no stored parameter and never allocates more than about one chunk of dictionary.
    dict_size = max(4096, _next_pow2(raw_size))
    return [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": dict_size}]


def _lzma_encode(data: bytes, level: int | None) -> bytes:
    preset = (9 if level is None else level) | lzma.PRESET_EXTREME
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(data), preset))


def _lzma_decode(payload: bytes, raw_size: int) -> bytes:
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_lzma_filters(raw_size))
    return _bounded_stdlib("lzma", d, payload, raw_size)


def _bz2_encode(data: bytes, level: int | None) -> bytes:
    return bz2.compress(data, 9 if level is None else level)


def _bz2_decode(payload: bytes, raw_size: int) -> bytes:
    return _bounded_stdlib("bz2", bz2.BZ2Decompressor(), payload, raw_size)


# --- brotli: output limit per call, so decode in bounded pieces --------------------------------


def _brotli_encode(data: bytes, level: int | None) -> bytes:
    lgwin = min(24, max(10, _next_pow2(len(data)).bit_length() - 1))  # window = the chunk
    return brotli.compress(data, quality=11 if level is None else level, lgwin=lgwin)


def _brotli_decode(payload: bytes, raw_size: int) -> bytes:
    d = brotli.Decompressor()
    out = bytearray()
    data = payload
    while True:
        # The limit stops the buffer growing once reached (it may overshoot by one buffer step,
        # tens of KiB), so a bomb is cut off after at most about raw_size bytes.
        piece = d.process(data, output_buffer_limit=raw_size - len(out) + 1)
        data = b""  # all input went in with the first call; later calls only drain
        out += piece
        if len(out) > raw_size:
            raise _too_large("brotli", raw_size)
        if d.is_finished():
            return bytes(out)
        if not piece:
            raise CodecError("brotli payload ends before the end of its stream (truncated)")


# --- zstd: frame without content size or checksum; bounded window, bounded reads ---------------


def _zstd_encode(data: bytes, level: int | None) -> bytes:
    # One-shot compression knows the source size, so zstd shrinks the window to the chunk even
    # at levels 20-22; content size and checksum would duplicate the container's fields.
    cctx = zstandard.ZstdCompressor(
        level=19 if level is None else level,
        write_content_size=False,
        write_checksum=False,
        write_dict_id=False,
    )
    return cctx.compress(data)


def _zstd_decode(payload: bytes, raw_size: int) -> bytes:
    # Refuse frames asking for a window larger than this chunk could need (with margin).
    dctx = zstandard.ZstdDecompressor(max_window_size=max(1 << 20, 2 * _next_pow2(raw_size)))
    out = bytearray()
    with dctx.stream_reader(payload, read_across_frames=False) as reader:
        while len(out) <= raw_size:
            piece = reader.read(raw_size + 1 - len(out))
            if not piece:
                break
            out += piece
    if len(out) > raw_size:
        raise _too_large("zstd", raw_size)
    # The reader stops quietly at a truncated frame. Now that the output is known to be small,
    # a second, unbounded pass over the same payload can check the frame's end safely.
    obj = dctx.decompressobj()
    obj.decompress(payload)
    if not obj.eof:
        raise CodecError("zstd payload ends before the end of its frame (truncated)")
    if obj.unused_data:
        raise CodecError("zstd payload has bytes after the end of its frame")
    return bytes(out)


# --- ppmd: PPMd var. H (7-Zip's PPMd7); payload = order u8 + log2(memory) u8 + range-coded data -

PPMD_MEM_LOG2 = 24  # 16 MiB model, 7-Zip's default
PPMD_MIN_MEM_LOG2, PPMD_MAX_MEM_LOG2 = 16, 28  # a decoder never allocates more than 256 MiB
_PPMD_ENCODE_PIECE = 2048
_PPMD_PAD = bytes(1 << 16)


def _ppmd_encode(data: bytes, level: int | None) -> bytes:
    order = 6 if level is None else level
    enc = pyppmd.Ppmd7Encoder(order, 1 << PPMD_MEM_LOG2)
    # pyppmd 1.3.1 silently drops output bytes when one symbol's code crosses the end of its
    # 32 KiB output block. Feeding 2 KiB at a time keeps each call's output inside its first
    # block; `_ppmd_verified` below still checks every payload before it is used.
    parts = [bytes([order, PPMD_MEM_LOG2])]
    parts += [
        enc.encode(data[i : i + _PPMD_ENCODE_PIECE])
        for i in range(0, len(data), _PPMD_ENCODE_PIECE)
    ]
    parts.append(enc.flush(endmark=False))  # the raw size is known, so no end marker is needed
    return b"".join(parts)


def _ppmd_decode(payload: bytes, raw_size: int) -> bytes:
    """Only for payloads whose stored CRC matched: pyppmd is not memory-safe on corrupt input."""
    if len(payload) < 2:
        raise CodecError("ppmd payload is shorter than its 2-byte parameter header")
    order, mem_log2 = payload[0], payload[1]
    if not 2 <= order <= 64:
        raise CodecError(f"ppmd payload declares model order {order} (valid: 2..64)")
    if not PPMD_MIN_MEM_LOG2 <= mem_log2 <= PPMD_MAX_MEM_LOG2:
        raise CodecError(
            f"ppmd payload declares a 2^{mem_log2} B model "
            f"(valid: 2^{PPMD_MIN_MEM_LOG2}..2^{PPMD_MAX_MEM_LOG2})"
        )
    if raw_size == 0:
        return b""
    dec = pyppmd.Ppmd7Decoder(order, 1 << mem_log2)
    out = bytearray(dec.decode(payload[2:], raw_size))  # `length` caps the output exactly
    # pyppmd decodes on a helper thread that parks when input runs out; freeing the decoder
    # while it is parked (or calling decode(b"")) corrupts memory. Feed zeros until the thread
    # has produced every symbol or stopped on its own; the CRC check then rejects the result.
    while len(out) < raw_size:
        piece = dec.decode(_PPMD_PAD, raw_size - len(out))
        if not piece:  # 64 KiB of input always yields a symbol unless the thread has finished
            break
        out += piece
    return bytes(out)


def _ppmd_verified(data: bytes, level: int | None) -> bytes:
    payload = _ppmd_encode(data, level)
    try:
        ok = _ppmd_decode(payload, len(data)) == data
    except Exception:  # any failure to round-trip means: do not use this payload
        ok = False
    if not ok:
        raise _Unusable("ppmd could not round-trip this chunk")
    return payload


class _Unusable(Exception):
    """A compressor produced a payload that must not be written; the chunk falls back."""


# --- registry ----------------------------------------------------------------------------------

REGISTRY: dict[str, Codec] = {
    c.name: c
    for c in (
        Codec("store", 0, None, None, None, "", lambda d, _lvl: bytes(d), _store_decode),
        Codec("zlib", 1, 0, 9, 9, "level", _zlib_encode, _zlib_decode),
        Codec("lzma", 2, 0, 9, 9, "preset (always with extreme)", _lzma_encode, _lzma_decode),
        Codec("bz2", 3, 1, 9, 9, "block size", _bz2_encode, _bz2_decode),
        Codec("brotli", 4, 0, 11, 11, "quality", _brotli_encode, _brotli_decode),
        Codec("zstd", 5, 1, 22, 19, "level", _zstd_encode, _zstd_decode),
        Codec("ppmd", 6, 2, 64, 6, "model order", _ppmd_verified, _ppmd_decode),
    )
}
BY_ID: dict[int, Codec] = {c.id: c for c in REGISTRY.values()}
AUTO = "auto"
CHOICES: tuple[str, ...] = (AUTO, *REGISTRY)


def resolve(codec: str, level: int | None) -> tuple[list[Codec], int | None]:
    """The codecs a policy tries and the level to use, or a TacError for bad user input."""
    if codec == AUTO:
        if level is not None:
            raise TacError("--level applies to one codec; auto uses each codec's strongest level")
        return list(REGISTRY.values()), None
    if codec not in REGISTRY:
        raise TacError(f"unknown codec {codec!r}; choose one of {', '.join(CHOICES)}")
    chosen = REGISTRY[codec]
    return [chosen], chosen.check_level(level)


def max_stored_size(raw_size: int) -> int:
    """The largest payload the format accepts for a chunk: bounds what a reader ever buffers."""
    return raw_size + raw_size // 4 + 1024


def compress_chunk(
    data: bytes, codecs: Iterable[Codec], level: int | None, pool: Executor | None = None
) -> tuple[Codec, bytes]:
    """The smallest payload among `codecs` (`store` wins ties and is the fallback).

    With one codec its payload is used even if larger than the input (the user asked for it),
    unless it exceeds the format's bound or failed verification; then the chunk is stored.
    """
    codecs = list(codecs)

    def attempt(codec: Codec) -> bytes | None:
        try:
            payload = codec.compress(data, level)
        except _Unusable:
            return None
        return payload if len(payload) <= max_stored_size(len(data)) else None

    if pool is not None and len(codecs) > 1:
        payloads = list(pool.map(attempt, codecs))
    else:
        payloads = [attempt(c) for c in codecs]
    store = REGISTRY["store"]
    best: tuple[Codec, bytes] | None = None
    for codec, payload in sorted(zip(codecs, payloads, strict=True), key=lambda cp: cp[0].id):
        if payload is not None and (best is None or len(payload) < len(best[1])):
            best = (codec, payload)
    if best is None:
        return store, bytes(data)
    if len(codecs) > 1 and len(best[1]) >= len(data):
        return store, bytes(data)
    return best


def default_workers() -> int:
    """Threads for `auto`: the libraries release the GIL while compressing."""
    return max(1, min(len(REGISTRY), os.cpu_count() or 1))
