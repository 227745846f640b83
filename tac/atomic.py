"""Crash-safe file writes: temp file in the same directory, fsync, os.replace.

A reader never sees a half-written file, and a failed write leaves the old file (or nothing).
Where someone else may have planted a symlink, the writers below refuse it instead of following.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tac.errors import TacError


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Yield a file object; on clean exit its content replaces `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are ordinary, shareable files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable; not every filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_writer(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# --- writing where someone else may have planted a link ---------------------------------------
# tac never creates symlinks in the directories it writes (a submission, its evaluation output),
# so a link there was planted, by a person or by submission code; writing through it would
# change whatever it points at. These refuse it, naming the path.


def refuse_symlink(path: str | os.PathLike) -> Path:
    """`path`, or a TacError naming it if it is a symbolic link."""
    path = Path(path)
    if path.is_symlink():
        raise TacError(
            f"{path}: is a symbolic link, and tac writes only files it creates; remove the link"
        )
    return path


def refuse_symlinks(root: str | os.PathLike, *names: str) -> None:
    """Refuse a link at any of `names` under `root`, or at any directory between them."""
    for name in names:
        path = Path(root)
        for part in Path(name).parts:
            path = refuse_symlink(path / part)


def open_nofollow(path: str | os.PathLike, mode: str = "wb") -> IO:
    """Create or truncate a regular file for writing; a link, FIFO or device there is refused."""
    path = Path(path)
    # O_NONBLOCK: a planted FIFO fails to open (ENXIO) instead of hanging tac until a reader comes.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        refuse_symlink(path)
        raise TacError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TacError(f"{path}: is not a regular file; remove it")
    os.set_blocking(fd, True)
    return os.fdopen(fd, mode)


def remove_tree(path: str | os.PathLike) -> None:
    """shutil.rmtree, refusing a link and naming the path in any error (rmtree's own errors
    can carry no file name at all)."""
    path = refuse_symlink(path)
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise TacError(f"{exc.filename or path}: cannot remove ({exc.strerror or exc})") from None


def fresh_dir(path: str | os.PathLike) -> Path:
    """An empty directory at `path`, replacing the one tac made there before; a link or a
    file at `path` is refused, not followed or deleted."""
    path = refuse_symlink(path)
    if path.is_dir():
        remove_tree(path)
    elif path.exists():
        raise TacError(f"{path}: exists and is not a directory; remove it")
    path.mkdir(parents=True)
    return path
