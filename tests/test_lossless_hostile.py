"""Hostile `.tacl` files: a crafted container makes tac refuse it, never crash.

A CRC catches accidents, not attackers: anyone can edit a field and recompute it. So besides
plain bit flips and truncations, most mutants here recompute every CRC they break, which sends
edited fields and corrupt payloads straight to the codec libraries. Whatever the file, tac must raise TacError (one line), write nothing on
error, and through the real CLI exit 0 or 2, never die of a signal or print a traceback.
Seeded and small: 400 mutants in-process in a few seconds, 16 through the CLI in about as many.
"""

from __future__ import annotations

import bz2
import hashlib
import random
import struct
import zlib
from collections.abc import Callable

import brotli
import numpy as np
import pytest
import zstandard

from tac.errors import TacError
from tac.lossless import (
    CHOICES,
    CODECS,
    compress_bytes,
    decompress_bytes,
    decompress_file,
    inspect_file,
)
from tac.lossless.codecs import REGISTRY, CodecError
from tac.lossless.container import CHUNK, HEADER, TRAILER
from tests.conftest import run_tac
from tests.test_lossless import _bomb, _chunk, _container, _header, _single_line_error
from tests.test_lossless import _text as _sample_text

SEED = 1234
IN_PROCESS = 400
THROUGH_CLI = 16  # about 1 s each on 2 loaded cores

# A PPMd7 chunk (codec id 6) that segfaulted pyppmd 1.3.1 inside `tac lossless decompress`:
# model order 2 and a 2^24 B model, both inside the ranges tac validated, then 48 random bytes
# (found by fuzzing). Order 7 with a 2^16 B model over the same bytes crashed too.
PPMD_CRASH_STREAM = bytes.fromhex(
    "00c296e13a99f2296f75a8a32016446fe4d88ccd10f4d1e66dda4c6be80b12054ea82402437f09205865b7b1950c9551"
)


def _text(n: int) -> bytes:
    words = b"a crafted container must never kill tac, only make it refuse the file ".split()
    rng = np.random.default_rng(3)
    return b" ".join(words[i] for i in rng.integers(0, len(words), n // 3))[:n]


def _content(scale: int) -> bytes:
    rng = np.random.default_rng(4)
    noise = rng.integers(0, 256, 300 * scale, dtype=np.uint8).tobytes()
    weights = np.clip(np.round(rng.normal(size=500 * scale) * 12), -127, 127).astype(np.int8)
    return _text(900 * scale) + noise + bytes(400 * scale) + weights.tobytes()


# --- mutators: each takes a valid container and returns a hostile one --------------------------


def _split(blob: bytes) -> tuple[bytes, list[bytes], bytes]:
    """Header, whole chunk records (header + payload), trailer of a valid container."""
    pos, chunks = HEADER.size, []
    while pos < len(blob) - TRAILER.size:
        stored = struct.unpack_from("<I", blob, pos + 5)[0]
        chunks.append(blob[pos : pos + CHUNK.size + stored])
        pos += CHUNK.size + stored
    return blob[: HEADER.size], chunks, blob[pos:]


def _reseal_header(head: bytes) -> bytes:
    return head[:18] + struct.pack("<I", zlib.crc32(head[:18]))


def _reseal_chunk(fields: tuple[int, int, int, int], payload: bytes) -> bytes:
    prefix = struct.pack("<BIII", *fields)
    return prefix + struct.pack("<I", zlib.crc32(prefix + payload)) + payload


def _fields(chunk: bytes) -> tuple[list[int], bytes]:
    return list(struct.unpack_from("<BIII", chunk)), chunk[CHUNK.size :]


def _bit_flips(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    out = bytearray(blob)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    cut = rng.randrange(len(blob))
    if rng.random() < 0.5:
        return blob[:cut]
    return blob[:cut] + blob[cut + rng.randint(1, 64) :]  # a hole in the middle


def _header_edit(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    head = bytearray(blob[: HEADER.size])
    field = rng.choice(["version", "flags", "chunk_size", "raw_size"])
    if field == "version":
        head[4] = rng.choice([0, 2, 255])
    elif field == "flags":
        head[5] = rng.randrange(1, 256)
    elif field == "chunk_size":
        value = rng.choice([0, 1, 255, 256, 511, 513, 1024, 64 << 20, (64 << 20) + 1, 2**32 - 1])
        struct.pack_into("<I", head, 6, value)
    else:
        raw = struct.unpack_from("<Q", head, 10)[0]
        value = rng.choice([0, 1, raw - 1, raw + 1, raw * 2, 1 << 40, 2**64 - 1])
        struct.pack_into("<Q", head, 10, max(0, value))
    return _reseal_header(bytes(head)) + blob[HEADER.size :]


def _chunk_field_edit(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    head, chunks, trailer = _split(blob)
    if not chunks:
        return _bit_flips(rng, blob, [])
    i = rng.randrange(len(chunks))
    fields, payload = _fields(chunks[i])
    which = rng.randrange(4)
    if which == 0:  # another codec, a retired one, or an unknown id reads this payload
        fields[0] = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 99, 255])
    elif which == 1:
        fields[1] = rng.choice([0, 1, fields[1] - 1, fields[1] + 1, 2**32 - 1])
    elif which == 2:  # the stored size no longer matches the bytes that follow
        fields[2] = rng.choice([0, 1, max(0, fields[2] - 1), fields[2] + 1, 2**31, 2**32 - 1])
    else:
        fields[3] = rng.getrandbits(32)
    chunks[i] = _reseal_chunk(tuple(fields), payload)
    return head + b"".join(chunks) + trailer


def _payload_edit(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    """Corrupt payload bytes and recompute the stored CRC: the decoder sees them."""
    head, chunks, trailer = _split(blob)
    if not chunks:
        return _bit_flips(rng, blob, [])
    i = rng.randrange(len(chunks))
    fields, payload = _fields(chunks[i])
    body = bytearray(payload)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        for _ in range(rng.randint(1, 8)):
            body[rng.randrange(len(body))] = rng.randrange(256)
    elif kind == 2:
        body = body[: rng.randrange(1, len(body) + 1)] if len(body) > 1 else body + b"\0"
    else:
        body[: min(len(body), 6)] = rng.randbytes(min(len(body), 6))  # the parameter header
    fields[2] = len(body)
    chunks[i] = _reseal_chunk(tuple(fields), bytes(body))
    return head + b"".join(chunks) + trailer


def _transplant(rng: random.Random, blob: bytes, donors: list[bytes]) -> bytes:
    """A payload from another codec's container, under this chunk's codec id, CRC recomputed."""
    head, chunks, trailer = _split(blob)
    _, donor_chunks, _ = _split(rng.choice(donors))
    if not chunks or not donor_chunks:
        return _bit_flips(rng, blob, [])
    i = rng.randrange(len(chunks))
    fields, _ = _fields(chunks[i])
    _, payload = _fields(rng.choice(donor_chunks))
    fields[2] = len(payload)
    chunks[i] = _reseal_chunk(tuple(fields), payload)
    return head + b"".join(chunks) + trailer


def _enlarge(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    """Length fields grown, every CRC recomputed: bombs and over-reads."""
    head, chunks, trailer = _split(blob)
    if rng.random() < 0.4 or not chunks:
        h = bytearray(head)
        raw = struct.unpack_from("<Q", h, 10)[0]
        struct.pack_into("<Q", h, 10, raw * rng.choice([2, 1000, 1 << 20, 1 << 30]))
        if rng.random() < 0.5:
            struct.pack_into("<I", h, 6, 64 << 20)
        return _reseal_header(bytes(h)) + b"".join(chunks) + trailer
    i = rng.randrange(len(chunks))
    fields, payload = _fields(chunks[i])
    grow = rng.choice([1, 17, 1000, len(blob), 1 << 20])
    fields[2] += grow
    padded = payload + (rng.randbytes(grow) if grow <= len(blob) else b"")
    chunks[i] = _reseal_chunk(tuple(fields), padded)
    return head + b"".join(chunks) + trailer


def _shuffle(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    """Chunk records reordered, duplicated or dropped; the trailer sometimes made to agree."""
    head, chunks, trailer = _split(blob)
    if len(chunks) < 2:
        return _truncate(rng, blob, [])
    kind = rng.randrange(3)
    if kind == 0:
        rng.shuffle(chunks)
    elif kind == 1:
        chunks.insert(rng.randrange(len(chunks)), rng.choice(chunks))
    else:
        del chunks[rng.randrange(len(chunks))]
    if rng.random() < 0.5:
        trailer = b"TEND" + struct.pack("<I", len(chunks)) + trailer[8:]
    return head + b"".join(chunks) + trailer


def _ppmd_chunk(rng: random.Random, blob: bytes, _: list[bytes]) -> bytes:
    """A chunk relabelled as PPMd with a parameter header: what crashed pyppmd."""
    head, chunks, trailer = _split(blob)
    if not chunks:
        return _bit_flips(rng, blob, [])
    i = rng.randrange(len(chunks))
    fields, payload = _fields(chunks[i])
    params = bytes([rng.choice([2, 6, 7, 64]), rng.choice([16, 24])])
    body = params + (PPMD_CRASH_STREAM if rng.random() < 0.5 else payload)
    fields[0], fields[2] = 6, len(body)
    chunks[i] = _reseal_chunk(tuple(fields), body)
    return head + b"".join(chunks) + trailer


MUTATORS: list[Callable[[random.Random, bytes, list[bytes]], bytes]] = [
    _bit_flips,
    _truncate,
    _header_edit,
    _chunk_field_edit,
    _payload_edit,
    _payload_edit,  # twice: the mutants that reach a decoder matter most
    _transplant,
    _enlarge,
    _shuffle,
    _ppmd_chunk,
]


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    # Five chunks of 512 B, and three of 4 KiB: big enough for a decoder to go far astray.
    small, large = _content(1), _content(5)
    codecs = ("auto", *CODECS)
    return [compress_bytes(small, c, chunk_size=512) for c in codecs] + [
        compress_bytes(large, c, chunk_size=4096) for c in codecs
    ]


@pytest.fixture(scope="module")
def mutants(seeds) -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    out = []
    for _ in range(IN_PROCESS):
        blob = rng.choice(seeds)
        mutate = rng.choice(MUTATORS)
        out.append((mutate.__name__, mutate(rng, blob, seeds)))
    return out


def _declared_size(blob: bytes) -> int:
    return struct.unpack_from("<Q", blob, 10)[0]


def test_seeded_mutants_only_raise_tac_error(mutants, tmp_path):
    src, dst = tmp_path / "in.tacl", tmp_path / "out.bin"
    refused = 0
    for index, (kind, blob) in enumerate(mutants):
        where = f"mutant {index} ({kind})"
        try:
            if index % 2:
                src.write_bytes(blob)
                decompress_file(src, dst)
                assert dst.stat().st_size == _declared_size(blob), where
                dst.unlink()
            else:
                out = decompress_bytes(blob)
                assert len(out) == _declared_size(blob), where
                assert hashlib.sha256(out).digest() == blob[-32:], where
        except TacError as exc:
            refused += 1
            assert str(exc) and "\n" not in str(exc), where
        except Exception as exc:  # anything but TacError escaping is the bug this test hunts
            pytest.fail(f"{where}: {type(exc).__name__}: {exc}")
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left in ([], ["in.tacl"]), f"{where}: left {left}"  # no output, no temp file
    assert refused > 0.9 * len(mutants)  # the mutators really do damage


def test_seeded_mutants_through_the_cli(mutants, tmp_path):
    """A sample through the real entry point: exit 0 or 2, no signal, no traceback."""
    rng = random.Random(SEED)
    ppmd = [i for i, (kind, _) in enumerate(mutants) if kind == "_ppmd_chunk"][:4]
    others = [i for i in range(len(mutants)) if i not in ppmd]
    for index in ppmd + rng.sample(others, THROUGH_CLI - len(ppmd)):
        kind, blob = mutants[index]
        case = tmp_path / str(index)
        case.mkdir()
        src, dst = case / "in.tacl", case / "out.bin"
        src.write_bytes(blob)
        r = run_tac("lossless", "decompress", str(src), "-o", str(dst), timeout=120)
        where = f"mutant {index} ({kind}): exit {r.returncode}, stderr {r.stderr!r}"
        assert r.returncode in (0, 2), where
        assert "Traceback" not in r.stderr, where
        if r.returncode == 2:
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), where
            assert sorted(p.name for p in case.iterdir()) == ["in.tacl"], where
        else:
            assert dst.stat().st_size == _declared_size(blob), where


@pytest.mark.parametrize(
    "params",
    [bytes([2, 24]), bytes([7, 16])],
    ids=["valid-params", "edited-params"],
)
def test_crafted_ppmd_chunk_cannot_kill_the_cli(tmp_path, params):
    """Issue 12 item 8: a PPMd chunk with valid CRCs used to segfault `tac lossless decompress`."""
    raw = bytes(4096)
    payload = params + PPMD_CRASH_STREAM
    trailer = b"TEND" + struct.pack("<I", 1) + hashlib.sha256(raw).digest()
    src, dst = tmp_path / "crafted.tacl", tmp_path / "out.bin"
    src.write_bytes(_header(4096, 4096) + _chunk(6, 4096, zlib.crc32(raw), payload) + trailer)
    r = run_tac("lossless", "decompress", str(src), "-o", str(dst), timeout=120)
    assert r.returncode == 2, f"exit {r.returncode}: {r.stderr!r}"
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "chunk 1 of 1" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crafted.tacl"]  # no output, no temp


# --- parameters a payload carries, and the retired PPMd ----------------------------------------


def test_ppmd_is_no_longer_written():
    """PPMd (id 6) was retired: pyppmd crashes on crafted input (the crafted chunk above)."""
    assert "ppmd" not in CHOICES
    with pytest.raises(TacError) as exc:
        compress_bytes(b"abc", "ppmd")
    _single_line_error(exc, "ppmd is no longer written", "crash")


@pytest.mark.parametrize(
    ("codec", "payload", "needle"),
    [
        # Windows larger than a 4 KiB chunk could need, as a crafted file would declare them.
        ("zstd", _bomb("zstd", 1 << 20, 20), "1048576 B window"),
        ("zstd", zstandard.ZstdCompressor(write_checksum=True).compress(bytes(4096)), "descriptor"),
        ("zstd", b"\x28\xb5\x2f\xfd\x00", "truncated"),
        ("zstd", b"\x50\x2a\x4d\x18" + bytes(8), "magic"),  # a skippable frame
        ("brotli", brotli.compress(bytes(4096), quality=5, lgwin=22), "2^22 B window"),
        ("brotli", bytes([0x11]) + bytes(8), "large window"),
        ("bz2", b"BZh0" + bz2.compress(bytes(4096))[4:], "BZh1..BZh9"),
        ("bz2", b"BZ", "BZh1..BZh9"),
        (
            "lzma-delta",
            bytes([9]) + REGISTRY["lzma-delta"].compress(bytes(4096), 0)[1:],
            "distance 9 is above the 8",
        ),
        ("lzma-delta", bytes([3]), "shorter than"),
    ],
    ids=[
        "zstd-window",
        "zstd-descriptor",
        "zstd-short-header",
        "zstd-skippable",
        "brotli-window",
        "brotli-large-window",
        "bz2-block-size",
        "bz2-short",
        "delta-distance",
        "delta-short",
    ],
)
def test_codec_parameters_are_checked_before_decoding(codec, payload, needle):
    """Every parameter a payload carries must be one tac's encoder writes for the chunk."""
    with pytest.raises(CodecError) as exc:
        REGISTRY[codec].decompress(payload, 4096)
    _single_line_error(exc, needle)


def test_every_encoder_output_passes_its_parameter_check():
    for codec, c in REGISTRY.items():
        for n in (1, 255, 256, 4096, 5000):
            data = _sample_text(5000)[:n]
            for level in sorted({c.min_level, c.default_level, c.max_level} - {None}) or [None]:
                assert c.decompress(c.compress(data, level), n) == data, (codec, n, level)


@pytest.mark.parametrize("params", [bytes([6, 24]), bytes([1, 24])], ids=["valid", "order-1"])
def test_retired_ppmd_chunk_is_refused(params, tmp_path):
    raw = b"abc" * 10
    blob = _container(1024, [(6, raw, params + bytes(40))])
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    _single_line_error(exc, "chunk 1 of 1", "ppmd (id 6)", "no longer reads")
    (tmp_path / "old.tacl").write_bytes(blob)
    with pytest.raises(TacError) as exc:
        inspect_file(tmp_path / "old.tacl")
    _single_line_error(exc, "ppmd (id 6)")
