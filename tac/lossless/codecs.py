"""Chunk codecs: one registry entry per general-purpose compressor.

A codec turns one chunk (at most the container's chunk size) into a self-contained payload and
back. The container stores the codec's id byte and the chunk's raw size next to the payload, so
every decoder is told exactly how many bytes it may produce and must refuse to produce more: each
one asks its library for at most `raw_size + 1` bytes (or decodes in bounded pieces where the
library has no output limit), so a hostile payload can never make tac allocate more than about
one chunk.

A CRC is not a MAC: a crafted file can carry any payload with a valid CRC. So before a library
sees a payload, its codec checks every parameter the payload carries (zstd frame flags and
window, brotli window, bzip2 block size, lzma-delta distance) against what this module's encoder writes for a chunk
of that raw size, and refuses anything else. Only decoders that survive arbitrary input within
those parameters are kept: PPMd (id 6) did not and was dropped (docs/lossless-format.md).

`auto` and `exhaustive`, which choose among these codecs per chunk, are in `policy.py`.

Ids are part of the on-disk format (docs/lossless-format.md): never renumber, only append.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import brotli
import numpy as np
import zstandard

from tac.errors import TacError
from tac.registry import Registry


class CodecError(Exception):
    """A payload that does not decode to exactly its declared size (the container adds the file)."""


@dataclass(frozen=True)
class Codec:
    """One compressor: `compress` is deterministic, `decompress` is bounded by `raw_size`.

    `_check` sees the payload first and raises CodecError unless every parameter it carries is
    one `_encode` writes for a chunk of `raw_size` bytes.
    """

    name: str
    id: int
    min_level: int | None  # None: the codec takes no level
    max_level: int | None
    default_level: int | None
    level_meaning: str
    _encode: Callable[[bytes, int | None], bytes]
    _decode: Callable[[bytes, int], bytes]
    _check: Callable[[bytes, int], None]
    # the `auto` policy's setting: a fast level (None: the codec's default), or not tried at all
    auto_level: int | None = None
    in_auto: bool = True

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
            self._check(payload, raw_size)  # before the library sees a byte of it
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


def _no_parameters(payload: bytes, raw_size: int) -> None:
    """For payloads that carry no parameter tac must bound (see each codec's comment)."""


# --- store -------------------------------------------------------------------------------------


def _store_encode(data: bytes, level: int | None) -> bytes:
    return bytes(data)


def _store_decode(payload: bytes, raw_size: int) -> bytes:
    if len(payload) != raw_size:
        raise CodecError(f"store payload is {len(payload)} B, the chunk declares {raw_size} B")
    return payload


# --- zlib: raw deflate (no zlib header or adler32: the container has its own CRCs) -------------
# The window (15 bits) is the reader's choice, not the stream's: nothing to check.


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
    # (The lc/lp/pb properties inside the stream are checked by liblzma and cost no memory.)
    dict_size = max(4096, _next_pow2(raw_size))
    return [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": dict_size}]


def _lzma_encode(data: bytes, level: int | None) -> bytes:
    preset = (9 if level is None else level) | lzma.PRESET_EXTREME
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(data), preset))


def _lzma_decode(payload: bytes, raw_size: int) -> bytes:
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_lzma_filters(raw_size))
    return _bounded_stdlib("lzma", d, payload, raw_size)


# --- lzma-delta: liblzma's delta filter before LZMA2 -------------------------------------------
# Raw pixels (and other fixed-width samples) are far more alike across one sample than byte to
# byte: RGB frames compress to about half with the bytes 3 apart subtracted first, and LZMA2's
# fast presets then beat the strong ones on the raw bytes. The payload's first byte is the
# distance (0: no delta filter, up to DELTA_MAX); the rest is a raw LZMA2 stream with the lzma
# codec's dictionary rule. Presets are plain (no extreme): `auto` runs preset 0.

DELTA_MAX = 8
_DELTA_PROBE = 64 * 1024  # bytes the distance is chosen on
_DELTA_GAIN = 0.05  # bits per byte a distance must save over none


def order0_entropy(a) -> float:
    """Bits per byte of `a`'s byte frequencies (a uint8 array)."""
    counts = np.bincount(a, minlength=256)
    p = counts[counts > 0] / len(a)
    return float(-(p * np.log2(p)).sum())


def delta_distance(data: bytes) -> int:
    """The distance whose byte differences have the least order-0 entropy (0: none helps)."""
    a = np.frombuffer(data, np.uint8)
    if len(a) > _DELTA_PROBE:  # a few windows across the data, not just its start
        step = len(a) // 4
        a = np.concatenate([a[i * step : i * step + _DELTA_PROBE // 4] for i in range(4)])
    if len(a) <= 2 * DELTA_MAX:
        return 0
    bits = [order0_entropy(a)] + [order0_entropy(a[d:] - a[:-d]) for d in range(1, DELTA_MAX + 1)]
    best = min(range(1, DELTA_MAX + 1), key=bits.__getitem__)
    return best if bits[best] < bits[0] - _DELTA_GAIN else 0


def _delta_filters(raw_size: int, distance: int, preset: int = 6) -> list[dict]:
    delta = [{"id": lzma.FILTER_DELTA, "dist": distance}] if distance else []
    return delta + _lzma_filters(raw_size, preset)


def _delta_encode(data: bytes, level: int | None) -> bytes:
    distance = delta_distance(data)
    body = lzma.compress(data, format=lzma.FORMAT_RAW, filters=_delta_filters(len(data), distance, 9 if level is None else level))  # fmt: skip
    return bytes([distance]) + body


def _delta_check(payload: bytes, raw_size: int) -> None:
    if len(payload) < 2:
        raise CodecError("lzma-delta payload is shorter than its distance byte and a stream")
    if payload[0] > DELTA_MAX:
        raise CodecError(f"lzma-delta distance {payload[0]} is above the {DELTA_MAX} tac writes")


def _delta_decode(payload: bytes, raw_size: int) -> bytes:
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_delta_filters(raw_size, payload[0]))
    return _bounded_stdlib("lzma-delta", d, payload[1:], raw_size)


def _bz2_encode(data: bytes, level: int | None) -> bytes:
    return bz2.compress(data, 9 if level is None else level)


def _bz2_decode(payload: bytes, raw_size: int) -> bytes:
    return _bounded_stdlib("bz2", bz2.BZ2Decompressor(), payload, raw_size)


def _bz2_check(payload: bytes, raw_size: int) -> None:
    # The block size digit (100 kB units) sets the decoder's memory; the encoder writes 1..9.
    if payload[:3] != b"BZh" or payload[3:4] not in [b"%d" % n for n in range(1, 10)]:
        raise CodecError(f"bz2 payload does not start with a BZh1..BZh9 header ({payload[:4]!r})")


# --- brotli: output limit per call, so decode in bounded pieces --------------------------------


def _brotli_lgwin(raw_size: int) -> int:
    return min(24, max(10, _next_pow2(raw_size).bit_length() - 1))  # window = the chunk


def _brotli_encode(data: bytes, level: int | None) -> bytes:
    return brotli.compress(
        data, quality=11 if level is None else level, lgwin=_brotli_lgwin(len(data))
    )


# Qualities 0 and 1 always write a 2^18 B window, whatever lgwin asks (measured, brotli 1.2).
_BROTLI_FAST_LGWIN = 18


def _brotli_wbits(first: int) -> int | None:
    """The window size a stream declares in its first bits (RFC 7932 section 9.1, LSB first);
    None for the large-window extension, which tac never writes."""
    if not first & 1:
        return 16
    if n := (first >> 1) & 7:
        return 17 + n
    m = (first >> 4) & 7
    if m == 1:
        return None
    return 8 + m if m else 17


def _brotli_check(payload: bytes, raw_size: int) -> None:
    if not payload:
        raise CodecError("brotli payload is empty")
    wbits = _brotli_wbits(payload[0])
    if wbits is None:
        raise CodecError("brotli payload asks for a large window, which tac never writes")
    limit = max(_BROTLI_FAST_LGWIN, _brotli_lgwin(raw_size))
    if wbits > limit:
        raise CodecError(
            f"brotli payload asks for a 2^{wbits} B window; "
            f"a {raw_size} B chunk gets at most 2^{limit}"
        )


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


def _zstd_window(raw_size: int) -> int:
    # What zstd shrinks the window to when it knows the source size (never below 1 KiB).
    return max(1 << 10, _next_pow2(raw_size))


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _zstd_check(payload: bytes, raw_size: int) -> None:
    # Frame header (RFC 8878 3.1.1.1): the encoder above always writes descriptor 0 (no content
    # size, no single segment, no checksum, no dictionary id), then a window descriptor.
    if payload[:4] != _ZSTD_MAGIC:
        raise CodecError("zstd payload does not start with a zstd frame magic number")
    if len(payload) < 6:
        raise CodecError("zstd payload ends inside its frame header (truncated)")
    if payload[4] != 0:
        raise CodecError(
            f"zstd frame header descriptor 0x{payload[4]:02x} is not one tac writes (0x00)"
        )
    exponent, mantissa = payload[5] >> 3, payload[5] & 7
    base = 1 << (10 + exponent)
    window = base + base // 8 * mantissa
    if window > _zstd_window(raw_size):
        raise CodecError(
            f"zstd frame asks for a {window} B window; a {raw_size} B chunk gets at most "
            f"{_zstd_window(raw_size)} B"
        )


def _zstd_decode(payload: bytes, raw_size: int) -> bytes:
    dctx = zstandard.ZstdDecompressor(max_window_size=_zstd_window(raw_size))  # and zstd checks
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


# --- registry ----------------------------------------------------------------------------------


# In id order. A codec's id is part of the format: a new codec is a new id here, never a plug-in.
# auto_level: what `auto` runs (fast settings, measured in bench_lossless.py); lzma is left to
# `exhaustive` and `--codec lzma`: its presets are extreme, and lzma-delta's preset 0 with
# distance 0 is plain LZMA2 at several times the speed.
_BUILTIN = (
    Codec("store", 0, None, None, None, "", _store_encode, _store_decode, _no_parameters),
    Codec("zlib", 1, 0, 9, 9, "level", _zlib_encode, _zlib_decode, _no_parameters, auto_level=6),
    Codec(
        "lzma",
        2,
        0,
        9,
        9,
        "preset (always with extreme)",
        _lzma_encode,
        _lzma_decode,
        _no_parameters,
        in_auto=False,
    ),
    Codec("bz2", 3, 1, 9, 9, "block size", _bz2_encode, _bz2_decode, _bz2_check),
    Codec(
        "brotli",
        4,
        0,
        11,
        11,
        "quality",
        _brotli_encode,
        _brotli_decode,
        _brotli_check,
        auto_level=5,
    ),
    Codec("zstd", 5, 1, 22, 19, "level", _zstd_encode, _zstd_decode, _zstd_check, auto_level=3),
    Codec(
        "lzma-delta", 7, 0, 9, 9, "preset", _delta_encode, _delta_decode, _delta_check, auto_level=0
    ),
)
REGISTRY: Registry[Codec] = Registry("codec")
for _codec in _BUILTIN:
    REGISTRY.register(_codec.name, _codec)
BY_ID: dict[int, Codec] = {c.id: c for c in _BUILTIN}
# Ids a past tac wrote that this one refuses to decode, with the reason. Never reused.
RETIRED: dict[int, tuple[str, str]] = {
    6: ("ppmd", "pyppmd can crash on a crafted payload, so tac dropped it"),
}


def max_stored_size(raw_size: int) -> int:
    """The largest payload the format accepts for a chunk: bounds what a reader ever buffers."""
    return raw_size + raw_size // 4 + 1024
