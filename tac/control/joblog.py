"""A job's log, copied into the run directory from whichever host runs it.

The loop calls `mirror` at each heartbeat and when the job ends, so RUN_DIR/jobs/ID/log can be
followed with `tail -f` or tac-dash even for a job on an SSH host. Offsets are the local copy's
size; the host serves its log in 64 KiB chunks from an offset.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tac.control.backends.base import Backend, BackendError

MAX_CHUNKS = 8  # catch-up per call; whatever is left comes next time


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


async def mirror(backend: Backend, job_id: str, path: Path, log_bytes: int) -> tuple[int, str, str] | None:  # fmt: skip
    """Append what the job's log gained beyond `path`'s size (the host says it has `log_bytes`).
    Returns (bytes copied so far, last non-empty line, the text copied) when anything was
    copied, else None."""
    have = path.stat().st_size if path.exists() else 0  # a stat: metadata, cached
    if log_bytes <= have:
        return None
    data = b""
    try:
        for _ in range(MAX_CHUNKS):
            text = await backend.logs(job_id, have + len(data))
            if not text:
                break
            data += text.encode()
            if have + len(data) >= log_bytes:
                break
    except BackendError:
        pass  # the host is unreachable: the next call catches up
    if not data:
        return None
    await asyncio.to_thread(_append, path, data)  # off the event loop: a slow disk stalls no poll
    text = data.decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return have + len(data), lines[-1][-200:] if lines else "", text
