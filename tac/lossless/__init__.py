"""`tac lossless`: a chunked, self-checking container over general-purpose codecs.

For the bytes tac ships that no task-aware model can shrink (quantized weights, encoded
bitstreams, raw frames), pick per chunk whichever of zlib, lzma, bz2, brotli and zstd is
smallest. The on-disk format is documented in `tac.lossless.container` and
docs/lossless-format.md.

    compress_file(src, dst, codec="auto", level=None, chunk_size=DEFAULT_CHUNK_SIZE) -> Report
    decompress_file(src, dst) -> Report           # no output file at all if anything is wrong
    inspect_file(src) -> Report                   # header and chunk table, nothing decoded
    compress_bytes(data, codec="auto") -> bytes
    decompress_bytes(blob, max_size=None) -> bytes
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from tac.atomic import atomic_writer
from tac.errors import TacError
from tac.lossless.codecs import CodecError
from tac.lossless.container import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    CodecUse,
    Progress,
    Report,
    inspect_stream,
    read_stream,
    write_stream,
)
from tac.lossless.policy import AUTO, CHOICES, POLICIES

CODECS: tuple[str, ...] = CHOICES[
    len(POLICIES) :
]  # the single codecs, in id order; CHOICES adds the policies

__all__ = [
    "AUTO",
    "CHOICES",
    "CODECS",
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "CodecError",
    "CodecUse",
    "Report",
    "compress_bytes",
    "compress_file",
    "decompress_bytes",
    "decompress_file",
    "inspect_file",
]


def _open_input(src: str | os.PathLike):
    path = Path(src)
    try:
        return open(path, "rb")  # the caller closes it (a with-block there)
    except FileNotFoundError:
        raise TacError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TacError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise TacError(f"{path}: cannot read ({exc.strerror})") from None


def _output_error(dst: str | os.PathLike, exc: OSError) -> TacError:
    return TacError(f"{dst}: cannot write ({exc.strerror or exc})")


def compress_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    codec: str = AUTO,
    level: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Report:
    """Compress `src` into a new `.tacl` file at `dst` (replaced atomically)."""
    with _open_input(src) as f:
        try:
            with atomic_writer(dst, "wb") as out:
                return write_stream(
                    f, out, codec=codec, level=level, chunk_size=chunk_size, progress=progress
                )
        except OSError as exc:  # a directory, no permission, disk full: the user can fix it
            raise _output_error(dst, exc) from None


def decompress_file(
    src: str | os.PathLike, dst: str | os.PathLike, progress: Progress | None = None
) -> Report:
    """Verify and decompress `src` into `dst`; on any error `dst` is left as it was."""
    with _open_input(src) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            with atomic_writer(dst, "wb") as out:
                return read_stream(f, out, name=str(src), size=size, progress=progress)
        except OSError as exc:  # a directory, no permission, disk full: the user can fix it
            raise _output_error(dst, exc) from None


def inspect_file(src: str | os.PathLike) -> Report:
    """The container's header and per-codec chunk table without decoding anything."""
    with _open_input(src) as f:
        return inspect_stream(f, name=str(src), size=os.fstat(f.fileno()).st_size)


def compress_bytes(
    data: bytes,
    codec: str = AUTO,
    level: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:
    out = io.BytesIO()
    write_stream(io.BytesIO(data), out, codec=codec, level=level, chunk_size=chunk_size)
    return out.getvalue()


def decompress_bytes(blob: bytes, max_size: int | None = None, name: str = "<bytes>") -> bytes:
    """The content of an in-memory container; refuses one declaring more than `max_size` B."""
    out = io.BytesIO()
    read_stream(io.BytesIO(blob), out, name=name, size=len(blob), max_size=max_size)
    return out.getvalue()
