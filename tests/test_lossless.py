"""`tac lossless`: exact round trips, the documented byte layout, and refusal of every corruption.

Containers are built by hand here from docs/lossless-format.md (not with tac's writer), so these
tests also pin the on-disk format. Payloads are small and chunks tiny (256 B .. 4 KiB) so many
chunks cost little; the whole file runs in a few seconds on 2 cores.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import brotli
import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tac.errors import TacError
from tac.lossless import (
    CHOICES,
    CODECS,
    compress_bytes,
    compress_file,
    decompress_bytes,
    decompress_file,
    inspect_file,
)
from tac.lossless.cli import app, parse_size
from tac.lossless.codecs import REGISTRY, CodecError
from tac.lossless.container import CHUNK, OVERHEAD, write_stream

REPO = Path(__file__).resolve().parent.parent
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _rng_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _text(n: int) -> bytes:
    words = b"the quick brown fox jumps over the lazy dog while tac compresses chunks ".split()
    rng = np.random.default_rng(1)
    return b" ".join(words[i] for i in rng.integers(0, len(words), n // 4))[:n]


def _weights(n: int) -> bytes:
    rng = np.random.default_rng(2)
    return np.clip(np.round(rng.normal(size=n) * 12), -127, 127).astype(np.int8).tobytes()


PAYLOADS = {
    "empty": b"",
    "one": b"x",
    "random": _rng_bytes(3000),
    "zeros": bytes(5000),
    "text": _text(6000),
    "weights": _weights(4096),
}


def _single_line_error(exc: pytest.ExceptionInfo, *needles: str) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


# --- the documented layout, written by hand ----------------------------------------------------


def _header(chunk_size: int, raw_size: int, version: int = 1, flags: int = 0) -> bytes:
    body = struct.pack("<4sBBIQ", b"TACL", version, flags, chunk_size, raw_size)
    return body + struct.pack("<I", zlib.crc32(body))


def _chunk(codec_id: int, raw_size: int, raw_crc: int, payload: bytes) -> bytes:
    prefix = struct.pack("<BIII", codec_id, raw_size, len(payload), raw_crc)
    return prefix + struct.pack("<I", zlib.crc32(prefix + payload)) + payload


def _trailer(count: int, content: bytes) -> bytes:
    return b"TEND" + struct.pack("<I", count) + hashlib.sha256(content).digest()


def _container(chunk_size: int, parts: list[tuple[int, bytes, bytes]]) -> bytes:
    """parts: (codec id, raw chunk, payload), all with valid sizes and CRCs."""
    content = b"".join(raw for _, raw, _ in parts)
    body = b"".join(_chunk(cid, len(raw), zlib.crc32(raw), p) for cid, raw, p in parts)
    return _header(chunk_size, len(content)) + body + _trailer(len(parts), content)


def test_hand_built_container_decodes():
    a, b = b"A" * 300, b"hello " * 30
    blob = _container(300, [(0, a, a), (1, b, zlib.compress(b, 9)[2:-4])])
    assert decompress_bytes(blob) == a + b
    assert compress_bytes(b"", "store") == _header(4 << 20, 0) + _trailer(0, b"")


def test_writer_matches_layout():
    data = _rng_bytes(700)
    blob = compress_bytes(data, "store", chunk_size=256)
    parts = [(0, data[i : i + 256], data[i : i + 256]) for i in range(0, 700, 256)]
    assert blob == _container(256, parts)
    assert len(blob) == OVERHEAD + 3 * CHUNK.size + 700


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CHOICES)
@pytest.mark.parametrize("name", PAYLOADS)
def test_round_trip_every_codec(codec, name):
    data = PAYLOADS[name]
    blob = compress_bytes(data, codec, chunk_size=1024)  # several chunks for most payloads
    assert decompress_bytes(blob) == data


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=2500),
        st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8), st.integers(1, 400)),
    ),
    codec=st.sampled_from(CHOICES),
    chunk_size=st.sampled_from([256, 300, 1024, 4096]),
)
def test_round_trip_property(data, codec, chunk_size):
    blob = compress_bytes(data, codec, chunk_size=chunk_size)
    assert decompress_bytes(blob) == data
    expected_chunks = -(-len(data) // chunk_size)
    assert struct.unpack("<I", blob[-36:-32])[0] == expected_chunks


@pytest.mark.parametrize("codec", CODECS)
def test_codec_levels_round_trip(codec):
    c = REGISTRY[codec]
    data = _text(3000)
    for level in {c.min_level, c.max_level} - {None}:
        assert c.decompress(c.compress(data, level), len(data)) == data


def test_file_round_trip_and_report(tmp_path):
    src, packed, out = tmp_path / "in.bin", tmp_path / "in.tacl", tmp_path / "out.bin"
    data = _text(5000) + _rng_bytes(3000) + bytes(4000)
    src.write_bytes(data)
    seen: list[int] = []
    report = compress_file(src, packed, chunk_size=1024, progress=seen.append)
    assert sum(seen) == len(data) and len(seen) == report.chunks == 12
    assert report.stored_size == packed.stat().st_size
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert sum(u.chunks for u in report.codecs.values()) == 12
    assert "store" in report.codecs  # the random part is incompressible
    info = inspect_file(packed)
    assert (info.raw_size, info.chunks, info.sha256) == (len(data), 12, report.sha256)
    assert {n: vars(u) for n, u in info.codecs.items()} == {
        n: vars(u) for n, u in report.codecs.items()
    }
    back = decompress_file(packed, out)
    assert out.read_bytes() == data and back.sha256 == report.sha256


def test_streaming_input_with_short_reads():
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes):
            self.buf = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self.buf.read(min(7, n if n >= 0 else 7))

    data = _text(3000)
    out = io.BytesIO()
    report = write_stream(Trickle(data), out, codec="zlib", chunk_size=1000)
    assert report.chunks == 3 and decompress_bytes(out.getvalue()) == data


# --- auto policy -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["random", "zeros", "text", "weights"])
def test_exhaustive_never_larger_than_best_single_codec_and_auto_never_above_store(name):
    data = PAYLOADS[name] * 3
    sizes = {c: len(compress_bytes(data, c, chunk_size=2048)) for c in CODECS}
    exhaustive = len(compress_bytes(data, "exhaustive", chunk_size=2048))
    assert exhaustive <= min(sizes.values())  # same chunking, so the container overhead is equal
    auto = compress_bytes(data, "auto", chunk_size=2048)  # several chunks at once: in order
    assert decompress_bytes(auto) == data
    assert len(auto) <= len(data) + OVERHEAD + CHUNK.size * -(-len(data) // 2048)


def test_auto_stores_incompressible_data():
    blob = compress_bytes(_rng_bytes(3000), chunk_size=1024)
    assert [blob[i] for i in (22, 22 + 17 + 1024, 22 + 2 * (17 + 1024))] == [0, 0, 0]


# --- level and codec choice -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "level", "needle"),
    [
        ("zstd", 30, "1..22"),
        ("zlib", -1, "0..9"),
        ("store", 3, "takes no level"),
        ("auto", 5, "one codec"),
        ("lz4", None, "unknown codec"),
    ],
)
def test_bad_codec_or_level(codec, level, needle):
    with pytest.raises(TacError) as exc:
        compress_bytes(b"abc", codec, level)
    _single_line_error(exc, needle)


def test_bad_chunk_size():
    with pytest.raises(TacError) as exc:
        compress_bytes(b"abc", chunk_size=100)
    _single_line_error(exc, "chunk size")


# --- corruption: every problem is one TacError line ---------------------------------------------


@pytest.fixture(scope="module")
def multi_chunk_blobs() -> dict[str, tuple[bytes, bytes]]:
    data = _text(1500) + _rng_bytes(400) + bytes(600)
    return {c: (data, compress_bytes(data, c, chunk_size=512)) for c in ("auto", *CODECS)}


def test_truncation_at_every_offset(multi_chunk_blobs):
    for codec, (_, blob) in multi_chunk_blobs.items():
        for n in range(len(blob)):
            with pytest.raises(TacError) as exc:
                decompress_bytes(blob[:n])
            _single_line_error(exc, "<bytes>")
            assert codec  # keeps the failing codec in the traceback's locals


def test_bit_flip_at_every_offset(multi_chunk_blobs):
    for codec, (_, blob) in multi_chunk_blobs.items():
        for i in range(len(blob)):
            bad = bytearray(blob)
            bad[i] ^= 1 << (i % 8)
            with pytest.raises(TacError) as exc:
                decompress_bytes(bytes(bad))
            _single_line_error(exc)
            assert codec


@FAST
@given(data=st.data())
def test_random_multi_byte_damage(multi_chunk_blobs, data):
    codec = data.draw(st.sampled_from(sorted(multi_chunk_blobs)))
    blob = bytearray(multi_chunk_blobs[codec][1])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255).filter(lambda v, old=blob[i]: v != old))
    with pytest.raises(TacError) as exc:
        decompress_bytes(bytes(blob))
    _single_line_error(exc)


def test_wrong_magic():
    with pytest.raises(TacError) as exc:
        decompress_bytes(b"PK\x03\x04" + compress_bytes(b"abc")[4:])
    _single_line_error(exc, "not a tac lossless file")
    with pytest.raises(TacError) as exc:
        decompress_bytes(b"")
    _single_line_error(exc, "not a tac lossless file")


def test_future_version():
    blob = _header(1024, 3, version=2) + b"\0" * 60
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    _single_line_error(exc, "newer tac", "format v2")


def test_unknown_flags():
    blob = _header(1024, 0, flags=1) + _trailer(0, b"")
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    _single_line_error(exc, "flags")


def test_unknown_codec_id():
    raw = b"abc"
    blob = _header(1024, 3) + _chunk(99, 3, zlib.crc32(raw), raw) + _trailer(1, raw)
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    _single_line_error(exc, "unknown codec id 99")


def test_trailing_garbage():
    with pytest.raises(TacError) as exc:
        decompress_bytes(compress_bytes(b"abc" * 100) + b"\0")
    _single_line_error(exc, "trailing garbage")


def test_header_bomb_refused_before_decoding():
    # 1 TiB declared by a 62-byte file with a valid header CRC.
    blob = _header(64 << 20, 1 << 40) + _trailer(16384, b"")
    t = time.perf_counter()
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    assert time.perf_counter() - t < 0.5
    _single_line_error(exc, "decompression bomb")


def test_max_size_guard():
    blob = compress_bytes(bytes(10_000))
    assert decompress_bytes(blob, max_size=10_000) == bytes(10_000)
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob, max_size=9_999)
    _single_line_error(exc, "more than the allowed")


def test_chunk_declaring_more_than_chunk_size():
    raw = bytes(100)
    payload = zlib.compress(raw)[2:-4]
    blob = _header(256, 100) + _chunk(1, 100_000, zlib.crc32(raw), payload) + _trailer(1, raw)
    with pytest.raises(TacError) as exc:
        decompress_bytes(blob)
    _single_line_error(exc, "declares 100000 raw B")


def test_chunk_declaring_more_stored_bytes_than_the_file_has():
    raw = bytes(100)
    blob = bytearray(_container(256, [(0, raw, raw)]))
    struct.pack_into("<I", blob, 22 + 5, 1 << 31)
    with pytest.raises(TacError) as exc:
        decompress_bytes(bytes(blob))
    _single_line_error(exc, "remain before the trailer")


def _bomb(codec: str, n: int, window_log: int) -> bytes:
    """n zeros in a tiny payload whose declared window (if any) suits a 2^window_log B chunk."""
    if codec == "brotli":
        return brotli.compress(bytes(n), quality=5, lgwin=window_log)
    if codec == "zstd":
        params = zstandard.ZstdCompressionParameters.from_level(
            1, window_log=window_log, write_content_size=False, write_dict_id=False
        )
        return zstandard.ZstdCompressor(compression_params=params).compress(bytes(n))
    c = REGISTRY[codec]
    return c.compress(bytes(n), 9 if codec == "zlib" else c.min_level)  # fast, yet tiny


@pytest.mark.parametrize("codec", [c for c in CODECS if c != "store"])
def test_payload_bomb_is_cut_off(codec):
    """A payload expanding to 4 MiB inside a chunk declaring 4 KiB, all CRCs valid."""
    c = REGISTRY[codec]
    bomb = _bomb(codec, 4 << 20, 12)
    raw = bytes(4096)
    blob = _header(4096, 4096) + _chunk(c.id, 4096, zlib.crc32(raw), bomb) + _trailer(1, raw)
    tracemalloc.start()
    try:
        with pytest.raises(TacError) as exc:
            decompress_bytes(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _single_line_error(exc, "more than the declared")
    assert peak < 2 << 20, f"{codec} allocated {peak} B for a 4 KiB chunk"


@pytest.mark.parametrize("codec", CODECS)
def test_codec_refuses_truncated_and_extended_payloads(codec):
    c = REGISTRY[codec]
    data = _text(2000)
    payload = c.compress(data)
    assert c.decompress(payload, len(data)) == data
    for bad in (payload[:-1], payload[: len(payload) // 2], payload + b"\0\1"):
        with pytest.raises(CodecError):
            c.decompress(bad, len(data))
    with pytest.raises(CodecError):
        c.decompress(payload, len(data) - 1)


def test_failed_decompress_leaves_no_file(tmp_path):
    packed = tmp_path / "x.tacl"
    packed.write_bytes(compress_bytes(_text(3000), chunk_size=512))
    blob = packed.read_bytes()
    dst = tmp_path / "out.bin"
    for bad in (blob[:-1], blob[:100], blob[:-40] + bytes(40), blob + b"junk"):
        packed.write_bytes(bad)
        with pytest.raises(TacError):
            decompress_file(packed, dst)
        assert not dst.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tacl"]  # no temp file left
    dst.write_bytes(b"keep me")
    with pytest.raises(TacError):
        decompress_file(packed, dst)
    assert dst.read_bytes() == b"keep me"


def test_missing_input(tmp_path):
    with pytest.raises(TacError) as exc:
        compress_file(tmp_path / "nope", tmp_path / "out")
    _single_line_error(exc, "no such file")
    with pytest.raises(TacError) as exc:
        decompress_file(tmp_path, tmp_path / "out")
    _single_line_error(exc, "directory")


# --- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("4MiB", 4 << 20), ("4M", 4 << 20), ("512KiB", 512 << 10), ("1MB", 10**6), ("1000", 1000)],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


def test_cli_round_trip(tmp_path):
    runner = CliRunner()
    src = tmp_path / "w.bin"
    src.write_bytes(_weights(20_000))
    r = runner.invoke(app, ["compress", str(src), "--chunk-size", "4KiB"])
    assert r.exit_code == 0, r.output
    assert "ratio" in r.output and "MB/s" in r.output
    packed = tmp_path / "w.bin.tacl"
    r = runner.invoke(app, ["info", str(packed)])
    assert r.exit_code == 0 and "5 chunks" in r.output
    r = runner.invoke(app, ["decompress", str(packed), "-o", str(tmp_path / "back.bin")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    r = runner.invoke(app, ["compress", str(src), "--codec", "zstd", "--level", "3", "-f"])
    assert r.exit_code == 0 and "zstd 1" in r.output  # default 4 MiB chunks: one


def test_cli_refuses_overwrite_and_bad_input(tmp_path):
    runner = CliRunner()
    src = tmp_path / "a.bin"
    src.write_bytes(b"abc")
    (tmp_path / "a.bin.tacl").write_bytes(b"old")
    r = runner.invoke(app, ["compress", str(src)])
    assert r.exit_code != 0 and isinstance(r.exception, TacError)
    assert "--force" in str(r.exception)
    assert (tmp_path / "a.bin.tacl").read_bytes() == b"old"
    r = runner.invoke(app, ["decompress", str(tmp_path / "a.bin.tacl"), "-o", str(tmp_path / "b")])
    assert isinstance(r.exception, TacError) and not (tmp_path / "b").exists()


def test_main_cli_prints_one_error_line(tmp_path):
    """Through tac's real entry point: exit 2 and a single `error:` line, no traceback."""
    bad = tmp_path / "bad.tacl"
    bad.write_bytes(compress_bytes(b"abc" * 1000)[:-3])
    code = (
        "import tac.cli as c; from tac.lossless.cli import app\n"
        "if not any(g.name == 'lossless' for g in c.app.registered_groups):\n"
        "    c.app.add_typer(app, name='lossless')\n"
        "c.main()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "lossless", "decompress", str(bad), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "truncated" in lines[0]
    assert not (tmp_path / "o").exists()


def test_the_original_spelling_compress_to_out_tac_then_decompress_it(tmp_path):
    """`tac lossless compress IN -o OUT.tac` and `tac lossless decompress OUT.tac` (the original
    tac's names) round-trip; the default container name is IN.tacl."""
    from tests.conftest import run_tac

    src = tmp_path / "payload.bin"
    src.write_bytes(b"tac " * 5000)
    packed = tmp_path / "out.tac"
    assert run_tac("lossless", "compress", str(src), "-o", str(packed)).returncode == 0
    src.rename(tmp_path / "kept.bin")
    done = run_tac("lossless", "decompress", str(packed))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == (tmp_path / "kept.bin").read_bytes()
    assert run_tac("lossless", "compress", str(tmp_path / "kept.bin")).returncode == 0
    assert (tmp_path / "kept.bin.tacl").is_file()


def _rgb_frames(n: int = 2, h: int = 240, w: int = 320) -> bytes:
    """Smooth RGB frames: fixed-width samples, alike across a pixel and not byte to byte."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = [np.stack([128 + 100 * np.sin(x / 40 + t) * np.cos(y / 30), 128 + 80 * np.cos((x + y) / 50), y / h * 255], -1) for t in range(n)]  # fmt: skip
    return np.stack(frames).astype(np.uint8).tobytes()


def test_auto_finds_the_delta_in_frames_and_beats_the_strongest_plain_codecs():
    """`auto` picks by a sample at fast levels; on raw frames the delta filter's preset 0 beats
    every codec that has no delta filter at its strongest (what `auto` once ran on each chunk)."""
    from tac.lossless import codecs as lc
    from tac.lossless import policy

    data = _rgb_frames()
    assert lc.delta_distance(data) == 3  # bytes of one pixel sample apart
    assert [c.name for c in policy.shortlist(data, list(lc.BY_ID.values()))] == ["lzma-delta"]
    out = io.BytesIO()
    report = write_stream(io.BytesIO(data), out, codec="auto", chunk_size=64 * 1024)
    assert set(report.codecs) == {"lzma-delta"} and decompress_bytes(out.getvalue()) == data
    plain = [c for c in lc.BY_ID.values() if c.name != "lzma-delta"]
    strongest = sum(
        len(policy.compress_chunk(data[i : i + 64 * 1024], plain, None)[1])
        for i in range(0, len(data), 64 * 1024)
    )
    assert report.stored_size < strongest
    sample = policy.sample_of(data)
    assert (
        len(sample)
        == policy.SAMPLE_WINDOWS * min(policy.SAMPLE_WINDOW, len(data) // 64)
        < len(data)
    )


def test_auto_sends_noise_to_the_fastest_coder_and_keeps_the_bytes_right():
    from tac.lossless import codecs as lc
    from tac.lossless import policy

    noise = _rng_bytes(300_000)
    assert policy.shortlist(noise, list(lc.BY_ID.values())) == [lc.REGISTRY.get("zstd")]
    blob = compress_bytes(noise)  # zstd gains nothing on noise: the chunk is stored
    assert decompress_bytes(blob) == noise and len(blob) == len(noise) + OVERHEAD + CHUNK.size
    # lzma's presets are all extreme: `auto` leaves it to exhaustive and --codec lzma
    assert all(c.in_auto for c in policy.shortlist(PAYLOADS["text"] * 50, list(lc.BY_ID.values())))
    assert not lc.REGISTRY.get("lzma").in_auto
