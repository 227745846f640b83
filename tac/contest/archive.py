"""What the evaluator accepts in archive.zip, inspected without extracting anything.

One list of findings serves both sides: `tac submission check` prints them all, and the
evaluator refuses to unzip on the first one that would make extraction unsafe or impossible.
Members are judged as the official evaluator's Info-ZIP `unzip` would extract them, which is not
always what Python's zipfile reads: unzip inflates a member's whole stream, whatever size its
headers declare, so each stream is inflated here (streaming, and never more than one byte past
the declared size) and a mismatch is refused.
"""

from __future__ import annotations

import bz2
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from tac import atomic
from tac.errors import TacError

Severity = Literal["error", "warning", "info"]
MAX_UNPACKED_BYTES = 2 * 1024**3  # far above any sane archive (the whole contest video is 37.5 MB)
NAME_MAX = 255  # bytes in one path component, on every file system the evaluator may run on
PATH_MAX = 4096  # bytes in a path, its terminating NUL included (Linux)
ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
    RuntimeError, ValueError, zlib.error,
)  # fmt: skip
# Findings the evaluator refuses to unzip on (a duplicate member extracts fine: the last wins).
REFUSED = frozenset(
    {
        "archive-missing", "archive-corrupt", "archive-bomb", "archive-crc", "member-absolute",
        "member-traversal", "member-symlink", "member-encrypted", "member-size", "member-headers",
        "member-method", "member-conflict", "member-dot", "member-name-long",
    }
)  # fmt: skip
# Methods both Info-ZIP unzip 6.0 and Python's zipfile extract, so both see the same bytes.
METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2})
READ_CHUNK = 1 << 20  # compressed bytes read at a time
OUT_CHUNK = 1 << 20  # inflated bytes held at a time: what bounds memory, whatever the stream


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str

    def line(self) -> str:
        return f"{self.severity:<7} {self.code:<18} {self.message}"


def member_findings(archive: Path) -> list[Finding]:
    """Zip validity and member hygiene. Nothing is extracted; no member is inflated further than
    one byte past its declared size, and a declared bomb is not even opened."""
    if not archive.is_file():
        return [
            Finding(
                "error",
                "archive-missing",
                "archive.zip not found; a submission directory must contain archive.zip",
            )
        ]
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
        # Sizes are checked against what each stream really holds, so capping the declared
        # total bounds what extraction can write.
        declared = sum(i.file_size for i in infos)
        readable = declared <= MAX_UNPACKED_BYTES and not any(i.flag_bits & 0x1 for i in infos)
        streams = stream_findings(archive, infos) if readable else []
    except ZIP_ERRORS as exc:
        return [
            Finding("error", "archive-corrupt", f"not a valid zip ({exc}); rebuild archive.zip")
        ]
    found: list[Finding] = []
    if declared > MAX_UNPACKED_BYTES:
        found.append(
            Finding(
                "error", "archive-bomb",
                f"members declare {declared:,} bytes unpacked, over tac's {MAX_UNPACKED_BYTES:,}-byte "
                "limit; refusing to unzip (a zip bomb?)",
            )
        )  # fmt: skip
    found += streams + name_findings(infos)
    if not infos:
        found.append(Finding("warning", "archive-empty", "archive.zip has no members"))
    return found


# --- member data, as unzip reads it -------------------------------------------------------------


def stream_findings(archive: Path, infos: list[zipfile.ZipInfo]) -> list[Finding]:
    """Headers that disagree, methods unzip cannot read, sizes the data does not have, bad CRCs.
    A structural fault (a header or data past the end of the file) raises a ZIP_ERRORS error."""
    found: list[Finding] = []
    with open(archive, "rb") as f:
        for info in infos:
            name = info.filename
            data_at, disagree = _local_header(f, info)
            if disagree:
                found.append(
                    Finding(
                        "error", "member-headers",
                        f"member {name!r}: its local header says {disagree}, the central directory "
                        "does not; readers would disagree on it, refusing to unzip",
                    )
                )  # fmt: skip
                continue
            if info.compress_type not in METHODS:
                found.append(
                    Finding(
                        "error", "member-method",
                        f"member {name!r} uses compression method {info.compress_type}, which the "
                        "official unzip may not read; use store, deflate or bzip2",
                    )
                )  # fmt: skip
                continue
            f.seek(data_at)
            size, crc, ended = _inflated_size(f, info)
            if not ended:
                raise zipfile.BadZipFile(f"member {name!r}: its data stops before its stream ends")
            if size != info.file_size:
                real = "more than that" if size > info.file_size else f"only {size:,}"
                found.append(
                    Finding(
                        "error", "member-size",
                        f"member {name!r} declares {info.file_size:,} bytes but its data unpacks "
                        f"to {real}, and unzip writes what the data holds; refusing to unzip, "
                        "rebuild it",
                    )
                )  # fmt: skip
            elif crc != info.CRC:
                found.append(
                    Finding(
                        "error",
                        "archive-crc",
                        f"member {name!r} fails its CRC check; the zip is corrupt, rebuild it",
                    )
                )
    return found


_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # the local file header's fixed 30 bytes


def _local_header(f: BinaryIO, info: zipfile.ZipInfo) -> tuple[int, str]:
    """Where the member's data starts, and what its local header says that the central
    directory contradicts ("" when they agree)."""
    f.seek(info.header_offset)
    head = f.read(_LOCAL.size)
    if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"member {info.filename!r}: no local header where it should be")
    _, _, flags, method, _, _, crc, csize, usize, n_name, n_extra = _LOCAL.unpack(head)
    mine = (method, crc, csize, usize)
    theirs = (info.compress_type, info.CRC, info.compress_size, info.file_size)
    checked = ("method", "CRC", "compressed size", "size")
    if flags & 0x8:  # sizes and CRC follow the data (a data descriptor): only the method here
        mine, theirs, checked = mine[:1], theirs[:1], checked[:1]
    wrong = [
        f"{what} {a:#010x}" if what == "CRC" else f"{what} {a:,}"
        for what, a, b in zip(checked, mine, theirs, strict=True)
        if a != b and a != 0xFFFFFFFF  # 0xFFFFFFFF: the real value is in a zip64 extra field
    ]
    return info.header_offset + _LOCAL.size + n_name + n_extra, ", ".join(wrong)


def _inflated_size(f: BinaryIO, info: zipfile.ZipInfo) -> tuple[int, int, bool]:
    """(bytes the member's data unpacks to, their CRC-32, False if the data ran out before its
    stream ended), counting no further than one byte past the declared size: enough to prove a
    mismatch, never a bomb's worth."""
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED or left == 0:  # nothing to inflate
        if left != info.file_size:
            return left, 0, True
        total = crc = 0
        while total < left:
            chunk = f.read(min(READ_CHUNK, left - total))
            if not chunk:
                return total, crc, False
            total, crc = total + len(chunk), zlib.crc32(chunk, crc)
        return total, crc, True
    limit, total, crc = info.file_size + 1, 0, 0
    step = _stepper(info.compress_type)
    data, full = b"", False
    while total < limit:
        if not data and not full:  # the inflater wants more input
            chunk = f.read(min(READ_CHUNK, left)) if left else b""
            if not chunk:
                return total, crc, False
            data, left = chunk, left - len(chunk)
        room = min(OUT_CHUNK, limit - total)
        out, data, ended = step(data, room)
        total, crc = total + len(out), zlib.crc32(out, crc)
        if ended:
            return total, crc, True
        full = len(out) == room  # more output may be pending without more input
    return total, crc, True  # over the declared size: that is the finding


def _stepper(method: int):
    """`step(data, room) -> (out, unconsumed, ended)` over one member's compressed stream."""
    if method == zipfile.ZIP_DEFLATED:
        z = zlib.decompressobj(-zlib.MAX_WBITS)

        def step(data: bytes, room: int) -> tuple[bytes, bytes, bool]:
            out = z.decompress(data, room)
            return out, z.unconsumed_tail, z.eof

        return step
    b = bz2.BZ2Decompressor()

    def step(data: bytes, room: int) -> tuple[bytes, bytes, bool]:
        out = b.decompress(data, room)  # keeps what it could not yet use itself
        return out, b"", b.eof

    return step


# --- member names, as a file system holds them --------------------------------------------------


def name_findings(infos: list[zipfile.ZipInfo]) -> list[Finding]:
    """Names that escape archive/, that no file system holds, or that two members fight over."""
    found: list[Finding] = []
    seen: set[str] = set()
    files: dict[str, str] = {}  # path -> the member that makes it a file
    dirs: dict[str, str] = {}  # path -> the first member that makes it a directory
    for info in infos:
        name = info.filename
        found += _one_name_findings(info)
        if name in seen:
            found.append(Finding("error", "member-duplicate", f"member {name!r} appears twice"))
        seen.add(name)
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        for i in range(1, len(parts)):
            dirs.setdefault("/".join(parts[:i]), name)
        if parts:
            made = dirs if info.is_dir() else files
            made.setdefault("/".join(parts), name)
    for path, member in files.items():
        if path in dirs:
            found.append(
                Finding(
                    "error", "member-conflict",
                    f"member {member!r} is a file, but member {dirs[path]!r} needs {path!r} to be "
                    "a directory; it cannot be both, refusing to unzip",
                )
            )  # fmt: skip
    return found


def _one_name_findings(info: zipfile.ZipInfo) -> list[Finding]:
    name = info.filename
    parts = [p for p in name.replace("\\", "/").split("/") if p]  # "a//b" is a/b to both readers
    found: list[Finding] = []

    def error(code: str, why: str) -> None:
        found.append(Finding("error", code, f"member {name!r} {why}"))

    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        error("member-absolute", "has an absolute path; refusing to unzip")
    if ".." in parts:
        error("member-traversal", "would extract outside archive/; refusing to unzip")
    if "." in parts or not parts:
        error("member-dot", "has a '.' (or an empty) path, which extractors treat differently; "
              "refusing to unzip: rebuild the zip without it")  # fmt: skip
    encoded = [p.encode("utf-8", "surrogateescape") for p in parts]
    if any(len(p) > NAME_MAX for p in encoded) or len(b"/".join(encoded)) >= PATH_MAX:
        error("member-name-long", f"is too long for the file system (a name over {NAME_MAX} "
              f"bytes, or a path of {PATH_MAX} or more); refusing to unzip")  # fmt: skip
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        error("member-symlink", "is a symlink; refusing to unzip")
    if info.flag_bits & 0x1:
        error("member-encrypted", "is encrypted; the evaluator cannot read it")
    if any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts):
        found.append(
            Finding("warning", "member-hidden", f"member {name!r} is hidden: bytes for nothing")
        )
    return found


def check_archive(archive: Path) -> None:
    """Raise one TacError line for the first finding the evaluator refuses to unzip on."""
    for f in member_findings(archive):
        if f.code in REFUSED:
            raise TacError(f"{archive}: {f.message}")


def unpack_archive(archive: Path, dest: Path) -> None:
    """Check, then extract into a fresh `dest` (a link planted there is refused, not followed)."""
    check_archive(archive)
    atomic.fresh_dir(dest)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
