"""What the evaluator accepts in archive.zip, inspected without extracting anything.

One list of findings serves both sides: `tac submission check` prints them all, and the
evaluator refuses to unzip on the first one that would make extraction unsafe or impossible.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from tac.errors import TacError

Severity = Literal["error", "warning", "info"]
MAX_UNPACKED_BYTES = 2 * 1024**3  # far above any sane archive (the whole contest video is 37.5 MB)
ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
    RuntimeError, ValueError, zlib.error,
)  # fmt: skip
# Findings the evaluator refuses to unzip on (a duplicate member extracts fine: the last wins).
REFUSED = frozenset(
    {
        "archive-missing", "archive-corrupt", "archive-bomb", "archive-crc", "member-absolute",
        "member-traversal", "member-symlink", "member-encrypted",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str

    def line(self) -> str:
        return f"{self.severity:<7} {self.code:<18} {self.message}"


def member_findings(archive: Path) -> list[Finding]:
    """Zip validity and member hygiene. Nothing is extracted; a bomb is not even decompressed."""
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
            # A reader never yields more than a member's declared size, so capping the declared
            # total bounds what extraction can write.
            declared = sum(i.file_size for i in infos)
            readable = declared <= MAX_UNPACKED_BYTES and not any(i.flag_bits & 0x1 for i in infos)
            bad_crc = zf.testzip() if readable else None
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
    if bad_crc is not None:
        found.append(
            Finding(
                "error",
                "archive-crc",
                f"member {bad_crc!r} fails its CRC check; the zip is corrupt, rebuild it",
            )
        )
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            found.append(
                Finding(
                    "error",
                    "member-absolute",
                    f"member {name!r} has an absolute path; refusing to unzip",
                )
            )
        if ".." in parts:
            found.append(
                Finding(
                    "error",
                    "member-traversal",
                    f"member {name!r} would extract outside archive/; refusing to unzip",
                )
            )
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            found.append(
                Finding(
                    "error", "member-symlink", f"member {name!r} is a symlink; refusing to unzip"
                )
            )
        if info.flag_bits & 0x1:
            found.append(
                Finding(
                    "error",
                    "member-encrypted",
                    f"member {name!r} is encrypted; the evaluator cannot read it",
                )
            )
        if name in seen:
            found.append(Finding("error", "member-duplicate", f"member {name!r} appears twice"))
        seen.add(name)
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            found.append(
                Finding("warning", "member-hidden", f"member {name!r} is hidden: bytes for nothing")
            )
    if not infos:
        found.append(Finding("warning", "archive-empty", "archive.zip has no members"))
    return found


def check_archive(archive: Path) -> None:
    """Raise one TacError line for the first finding the evaluator refuses to unzip on."""
    for f in member_findings(archive):
        if f.code in REFUSED:
            raise TacError(f"{archive}: {f.message}")


def unpack_archive(archive: Path, dest: Path) -> None:
    """Check, then extract into a fresh `dest`."""
    import shutil

    check_archive(archive)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
