"""`l`: a job's whole log in a scrollable screen (the jobs tab shows its tail)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Log

FULL_LOG_BYTES = 8 << 20  # a log longer than this shows its end, and says so


def read_log(path: Path, limit: int = FULL_LOG_BYTES) -> tuple[str, str]:
    """(text, what it is): the file, or its last `limit` bytes from a line start."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError as exc:
        return "", f"{path}: {exc.strerror or exc}"
    if size > limit:
        data = data[data.find(b"\n") + 1 :]  # start at a whole line
        return data.decode("utf-8", "replace"), f"the last {len(data):,} of {size:,} bytes"
    return data.decode("utf-8", "replace"), f"{size:,} bytes"


class LogScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,l", "dismiss", "Close")]

    def __init__(self, job_id: str, path: Path):
        super().__init__()
        self.job_id, self.path = job_id, path
        self.text, self.what = read_log(path)

    def compose(self) -> ComposeResult:
        log = Log(id="full-log", max_lines=None)
        log.border_title = f"{self.job_id}: {self.what}"
        log.border_subtitle = "escape closes"
        yield log

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write(self.text or "(empty)\n", scroll_end=True)
        log.focus()
