"""Steering a running loop: RUN_DIR/control.jsonl, written by people (or tac-dash), read by the loop.

One JSON command per line, appended; the controller applies each once and acknowledges it in the
ledger with a `control` event carrying the command's id, whether it was applied, and the loop's
state after it (paused, caps). Commands:

    {"id": "…", "command": "pause"}                       stop dispatching new jobs; running ones go on
    {"id": "…", "command": "resume"}                      dispatch again
    {"id": "…", "command": "stop"}                        cancel running jobs and finish the run
    {"id": "…", "command": "cancel", "job_id": "c01-…"}  cancel one running job
    {"id": "…", "command": "caps", "max_total_cost": 5.0, "max_cost_per_cycle": null}
                                                          change caps (null removes one; omitted: unchanged)

`tac steer RUN_DIR COMMAND …` and tac-dash's keys write these lines; so can `echo >>`.
An id that was already acknowledged is never applied again, so a resumed loop re-reading the whole
file does not pause twice or cancel a job of the same name again.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from pathlib import Path

CONTROL = "control.jsonl"
COMMANDS = ("pause", "resume", "stop", "cancel", "caps")
CAPS = ("max_total_cost", "max_cost_per_cycle", "max_cost_per_job")


def send(run_dir: str | os.PathLike, command: str, **args) -> dict:
    """Append one command to RUN_DIR/control.jsonl (one write: whole lines only); returns it."""
    problem = check({"command": command, **args})
    if problem:
        raise ValueError(problem)
    entry = {"id": uuid.uuid4().hex[:12], "ts": time.time(), "command": command, **args}
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    fd = os.open(Path(run_dir) / CONTROL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def check(entry: dict) -> str:
    """Why this command cannot be applied, or ""."""
    command = entry.get("command")
    if command not in COMMANDS:
        return f"unknown command {command!r} (use one of {', '.join(COMMANDS)})"
    if command == "cancel" and not isinstance(entry.get("job_id"), str):
        return "cancel needs a job_id"
    if command == "caps":
        given = [k for k in CAPS if k in entry]
        if not given:
            return f"caps needs at least one of {', '.join(CAPS)}"
        for k in given:
            v = entry[k]
            if v is not None and (not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or v < 0):  # fmt: skip
                return f"{k} must be a finite number ≥ 0 or null (no cap), not {v!r}"
    return ""


class ControlReader:
    """New complete lines of control.jsonl since the last read; a torn last line waits."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / CONTROL
        self.offset = 0

    def read(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        entries = []
        for line in data[:end].split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = {"id": None, "command": None, "error": "not JSON"}
            entries.append(entry if isinstance(entry, dict) else {"id": None, "command": None})
        return entries
