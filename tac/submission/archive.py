"""archive.zip, byte-for-byte deterministic: same inputs (and zlib build), same sha256.

Members are sorted, timestamps fixed at the zip epoch, modes fixed, no extra fields; payloads that
are already compressed (video bitstreams) are stored, everything else deflated at level 9.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from tac import atomic

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
STORED_SUFFIXES = (".mkv", ".mp4", ".hevc", ".ivf", ".obu", ".webm", ".zst", ".br", ".xz", ".tac")


def write_deterministic_zip(members: dict[str, Path | bytes], out: str | os.PathLike) -> Path:
    """Write `{archive name: file path or bytes}` to `out` atomically and reproducibly."""
    out = Path(out)
    with atomic.atomic_writer(out, "wb") as f:
        _write_zip(members, f)
    return out


def member_cost(name: str, data: bytes) -> int:
    """Exactly how many bytes adding `data` as member `name` adds to an archive."""
    empty, one = io.BytesIO(), io.BytesIO()
    _write_zip({}, empty)
    _write_zip({name: data}, one)
    return len(one.getvalue()) - len(empty.getvalue())


def _write_zip(members: dict[str, Path | bytes], f) -> None:
    with zipfile.ZipFile(f, "w") as zf:
        for name in sorted(members):
            src = members[name]
            data = src if isinstance(src, bytes) else Path(src).read_bytes()
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
            info.create_system = 3  # unix, whatever the host
            stored = name.endswith(STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=None if stored else 9)
