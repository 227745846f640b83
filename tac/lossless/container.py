"""The `.tacl` lossless container: chunked, self-checking, streamed in O(chunk) memory.

Byte layout, format version 1 (all integers little-endian; docs/lossless-format.md has the
rationale and the full list of checks):

    header   22 B   magic b"TACL" | version u8 = 1 | flags u8 = 0 | chunk_size u32
                    | raw_size u64 (whole content) | crc32 u32 of the 18 bytes before it
    chunk    17 B   codec id u8 | raw size u32 | stored size u32 | crc32 u32 of the raw chunk
                    | crc32 u32 of the 13 chunk-header bytes before it + the payload
             + payload (stored size bytes, codec-specific, see tac.lossless.codecs)
             ... repeated ceil(raw_size / chunk_size) times; every chunk holds exactly
             chunk_size raw bytes except the last, which holds the rest (never 0)
    trailer  40 B   magic b"TEND" | chunk count u32 | sha256 of the whole raw content (32 B)

Two CRCs per chunk because they answer different questions: the stored-bytes CRC proves the
payload is what the writer wrote before any decoder sees it (every single-bit flip and every
truncation is caught there), the raw CRC proves the codec reproduced the chunk. The SHA-256
covers the whole content end to end. None of them is a MAC: a crafted file recomputes them, so
each codec also checks the parameters its payload carries before its library runs
(tac.lossless.codecs), and only decoders that survive arbitrary bytes are kept.

Reading trusts nothing: the header's sizes must be backed by enough file bytes before anything is
decoded (a 1 KB file cannot declare 1 TB), each chunk's sizes must match the header exactly, a
payload is read only if the file still holds it, and decoders are capped at the declared size.
Every problem is one TacError line naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from tac.errors import TacError
from tac.lossless.codecs import BY_ID, RETIRED, Codec, CodecError, max_stored_size
from tac.lossless.policy import AUTO, compress_chunk, default_workers, resolve

MAGIC = b"TACL"
END_MAGIC = b"TEND"
VERSION = 1
HEADER = struct.Struct("<4sBBIQI")
CHUNK_PREFIX = struct.Struct("<BIII")  # the part of the chunk header its stored CRC covers
CHUNK = struct.Struct("<BIIII")
TRAILER = struct.Struct("<4sI32s")
OVERHEAD = HEADER.size + TRAILER.size  # per file; each chunk adds CHUNK.size

KiB, MiB = 1 << 10, 1 << 20
DEFAULT_CHUNK_SIZE = 4 * MiB
MIN_CHUNK_SIZE = 256  # tiny chunks only make sense in tests
MAX_CHUNK_SIZE = 64 * MiB  # bounds reader memory and the lzma/zstd/brotli windows
_MAX_CHUNKS = 0xFFFFFFFF

Progress = Callable[[int], None]  # called with the raw bytes just processed


@dataclass
class CodecUse:
    chunks: int = 0
    raw: int = 0
    stored: int = 0


@dataclass
class Report:
    """What a compress, decompress or inspect saw; sizes in bytes."""

    raw_size: int
    stored_size: int  # the whole container, header and trailer included
    chunk_size: int
    chunks: int
    sha256: str
    codecs: dict[str, CodecUse] = field(default_factory=dict)
    seconds: float = 0.0
    version: int = VERSION

    @property
    def ratio(self) -> float:
        return self.raw_size / self.stored_size if self.stored_size else 0.0


def check_chunk_size(chunk_size: int) -> int:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise TacError(
            f"chunk size {chunk_size} B is out of range "
            f"({MIN_CHUNK_SIZE} B .. {MAX_CHUNK_SIZE // MiB} MiB)"
        )
    return chunk_size


def _pack_header(chunk_size: int, raw_size: int) -> bytes:
    body = HEADER.pack(MAGIC, VERSION, 0, chunk_size, raw_size, 0)[: HEADER.size - 4]
    return body + struct.pack("<I", zlib.crc32(body))


def _read_full(src: BinaryIO, n: int) -> bytes:
    # One read may return less than asked (pipes, sockets); a chunk is always filled.
    parts, got = [], 0
    while got < n:
        part = src.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


# --- writing -----------------------------------------------------------------------------------


def _compressed(src: BinaryIO, chunk_size: int, codecs, level, pool, auto: bool, workers: int):
    """(chunk, (codec, payload)) in input order. `exhaustive` spreads each chunk's codecs over
    the pool; `auto` runs one or two codecs per chunk after its sample, so it spreads whole
    chunks instead (`workers` read ahead: memory stays a few chunks)."""
    if not (auto and pool is not None):
        while data := _read_full(src, chunk_size):
            yield data, compress_chunk(data, codecs, level, pool, sampled=auto)
        return
    while batch := [d for d in (_read_full(src, chunk_size) for _ in range(workers)) if d]:
        if len(batch) == 1:  # the last (or only) chunk: its sample's codecs share the pool
            yield batch[0], compress_chunk(batch[0], codecs, level, pool, sampled=True)
        else:
            yield from zip(batch, pool.map(lambda d: compress_chunk(d, codecs, level, sampled=True), batch), strict=True)  # fmt: skip


def write_stream(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    codec: str = "auto",
    level: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Report:
    """Compress `src` to `dst` chunk by chunk; `dst` must be seekable (the header is patched)."""
    codecs, level = resolve(codec, level)
    check_chunk_size(chunk_size)
    start = time.perf_counter()
    origin = dst.tell()
    dst.write(_pack_header(chunk_size, 0))  # placeholder: the raw size is known only at the end
    sha = hashlib.sha256()
    raw_total = stored_total = chunks = 0
    uses: dict[str, CodecUse] = {}
    workers = default_workers()
    parallel = len(codecs) > 1 and workers > 1
    with ThreadPoolExecutor(workers) if parallel else contextlib.nullcontext() as pool:
        for data, (chosen, payload) in _compressed(src, chunk_size, codecs, level, pool, codec == AUTO, workers):  # fmt: skip
            if chunks == _MAX_CHUNKS:
                raise TacError(f"input has more than {_MAX_CHUNKS} chunks; use a larger chunk size")
            prefix = CHUNK_PREFIX.pack(chosen.id, len(data), len(payload), zlib.crc32(data))
            dst.write(prefix + struct.pack("<I", zlib.crc32(payload, zlib.crc32(prefix))))
            dst.write(payload)
            sha.update(data)
            use = uses.setdefault(chosen.name, CodecUse())
            use.chunks += 1
            use.raw += len(data)
            use.stored += len(payload)
            raw_total += len(data)
            stored_total += CHUNK.size + len(payload)
            chunks += 1
            if progress:
                progress(len(data))
    dst.write(TRAILER.pack(END_MAGIC, chunks, sha.digest()))
    end = dst.tell()
    dst.seek(origin)
    dst.write(_pack_header(chunk_size, raw_total))
    dst.seek(end)
    return Report(
        raw_size=raw_total,
        stored_size=end - origin,
        chunk_size=chunk_size,
        chunks=chunks,
        sha256=sha.hexdigest(),
        codecs=uses,
        seconds=time.perf_counter() - start,
    )


# --- reading -----------------------------------------------------------------------------------


class _Cursor:
    """Reads from a file of known length; every failure is one TacError naming the file."""

    def __init__(self, f: BinaryIO, name: str, size: int):
        self.f, self.name, self.size, self.pos = f, name, size, 0

    def fail(self, what: str) -> TacError:
        return TacError(f"{self.name}: {what}")

    def read(self, n: int, what: str) -> bytes:
        data = _read_full(self.f, n) if n else b""
        self.pos += len(data)
        if len(data) < n:
            raise self.fail(f"truncated: the file ends inside the {what} (at byte {self.pos})")
        return data

    def skip(self, n: int) -> None:
        self.f.seek(n, 1)
        self.pos += n


@dataclass(frozen=True)
class _Header:
    version: int
    chunk_size: int
    raw_size: int

    @property
    def chunks(self) -> int:
        return -(-self.raw_size // self.chunk_size)

    def chunk_raw_size(self, index: int) -> int:
        return min(self.chunk_size, self.raw_size - index * self.chunk_size)


def _read_header(cur: _Cursor, max_size: int | None) -> _Header:
    head = _read_full(cur.f, HEADER.size)
    cur.pos += len(head)
    if len(head) < 4 or head[:4] != MAGIC:
        raise cur.fail("not a tac lossless file (no TACL magic)")
    if len(head) >= 5 and head[4] > VERSION:
        raise cur.fail(f"written by a newer tac (format v{head[4]}); this tac reads v{VERSION}")
    if len(head) < HEADER.size:
        raise cur.fail(f"truncated: the file ends inside the header (at byte {cur.pos})")
    _, version, flags, chunk_size, raw_size, crc = HEADER.unpack(head)
    if version != VERSION:
        raise cur.fail(f"unsupported format version {version}")
    if zlib.crc32(head[:-4]) != crc:
        raise cur.fail("the header is corrupt (CRC mismatch)")
    if flags:
        raise cur.fail(f"the header sets unknown flags 0x{flags:02x} (written by a newer tac?)")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise cur.fail(f"the header declares an invalid chunk size of {chunk_size} B")
    header = _Header(version, chunk_size, raw_size)
    # Every chunk costs at least its header and one payload byte, so the declared size must be
    # backed by file bytes: this refuses a decompression bomb before anything is decoded.
    needed = OVERHEAD + header.chunks * (CHUNK.size + 1)
    if header.chunks > _MAX_CHUNKS or needed > cur.size:
        raise cur.fail(
            f"declares {raw_size} B of content in {header.chunks} chunks, which needs at least "
            f"{needed} B, but the file has {cur.size} B (truncated or a decompression bomb)"
        )
    if max_size is not None and raw_size > max_size:
        raise cur.fail(f"declares {raw_size} B of content, more than the allowed {max_size} B")
    return header


@dataclass(frozen=True)
class _ChunkHead:
    codec: Codec
    raw_size: int
    stored: int
    raw_crc: int
    stored_crc: int
    prefix: bytes  # the header bytes the stored CRC covers, ahead of the payload


def _read_chunk_header(cur: _Cursor, header: _Header, index: int) -> _ChunkHead:
    where = f"chunk {index + 1} of {header.chunks}"
    raw = cur.read(CHUNK.size, f"header of {where}")
    codec_id, raw_size, stored, raw_crc, stored_crc = CHUNK.unpack(raw)
    codec = BY_ID.get(codec_id)
    if codec is None and codec_id in RETIRED:
        name, why = RETIRED[codec_id]
        raise cur.fail(
            f"{where} uses codec {name} (id {codec_id}), which tac no longer reads: {why} "
            "(docs/lossless-format.md)"
        )
    if codec is None:
        raise cur.fail(f"{where} uses unknown codec id {codec_id} (corrupt or from a newer tac)")
    expected = header.chunk_raw_size(index)
    if raw_size != expected:
        raise cur.fail(f"{where} declares {raw_size} raw B, the header implies {expected} B")
    left = cur.size - cur.pos - TRAILER.size
    if stored > left:
        raise cur.fail(
            f"{where} declares {stored} stored B but only {max(left, 0)} B remain before the "
            "trailer (truncated or corrupt)"
        )
    if stored > max_stored_size(raw_size) or stored == 0:
        raise cur.fail(f"{where} declares {stored} stored B for {raw_size} raw B (corrupt)")
    return _ChunkHead(codec, raw_size, stored, raw_crc, stored_crc, raw[: CHUNK_PREFIX.size])


def _count(uses: dict[str, CodecUse], head: _ChunkHead) -> None:
    use = uses.setdefault(head.codec.name, CodecUse())
    use.chunks += 1
    use.raw += head.raw_size
    use.stored += head.stored


def _read_trailer(cur: _Cursor, header: _Header) -> bytes:
    raw = cur.read(TRAILER.size, "trailer")
    magic, count, digest = TRAILER.unpack(raw)
    if magic != END_MAGIC:
        raise cur.fail(f"the trailer is corrupt (no TEND magic at byte {cur.pos - TRAILER.size})")
    if count != header.chunks:
        raise cur.fail(f"the trailer counts {count} chunks, the file has {header.chunks}")
    if cur.pos != cur.size:
        raise cur.fail(f"{cur.size - cur.pos} B of trailing garbage after the trailer")
    return digest


def read_stream(
    src: BinaryIO,
    dst: BinaryIO | None,
    *,
    name: str,
    size: int,
    progress: Progress | None = None,
    max_size: int | None = None,
) -> Report:
    """Verify and decompress `src` (a file of `size` bytes) into `dst` (None: verify only)."""
    start = time.perf_counter()
    cur = _Cursor(src, name, size)
    header = _read_header(cur, max_size)
    sha = hashlib.sha256()
    uses: dict[str, CodecUse] = {}
    for index in range(header.chunks):
        head = _read_chunk_header(cur, header, index)
        where = f"chunk {index + 1} of {header.chunks} ({head.codec.name})"
        payload = cur.read(head.stored, f"payload of {where}")
        # Checked before any decoder runs: accidentally corrupt bytes never reach a library.
        if zlib.crc32(payload, zlib.crc32(head.prefix)) != head.stored_crc:
            raise cur.fail(f"{where} is corrupt (CRC mismatch of the stored bytes)")
        try:
            data = head.codec.decompress(payload, head.raw_size)
        except CodecError as exc:
            raise cur.fail(f"{where}: {exc}") from None
        if zlib.crc32(data) != head.raw_crc:
            raise cur.fail(f"{where} decodes to wrong data (CRC mismatch of the raw bytes)")
        sha.update(data)
        if dst is not None:
            dst.write(data)
        _count(uses, head)
        if progress:
            progress(head.raw_size)
    digest = _read_trailer(cur, header)
    if sha.digest() != digest:
        raise cur.fail("content SHA-256 mismatch: the decoded data is not what was compressed")
    return Report(
        raw_size=header.raw_size,
        stored_size=size,
        chunk_size=header.chunk_size,
        chunks=header.chunks,
        sha256=digest.hex(),
        codecs=uses,
        seconds=time.perf_counter() - start,
        version=header.version,
    )


def inspect_stream(src: BinaryIO, *, name: str, size: int) -> Report:
    """The header, per-codec use and stored digest, walking chunk headers only (no decoding).

    Structure is validated as in `read_stream`; payload CRCs and the SHA-256 are not.
    """
    cur = _Cursor(src, name, size)
    header = _read_header(cur, None)
    uses: dict[str, CodecUse] = {}
    for index in range(header.chunks):
        head = _read_chunk_header(cur, header, index)
        cur.skip(head.stored)
        _count(uses, head)
    digest = _read_trailer(cur, header)
    return Report(
        raw_size=header.raw_size,
        stored_size=size,
        chunk_size=header.chunk_size,
        chunks=header.chunks,
        sha256=digest.hex(),
        codecs=uses,
        version=header.version,
    )
