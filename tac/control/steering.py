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

import asyncio
import dataclasses
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


# --- the loop's side ---------------------------------------------------------------------------
_CAP_FIELDS = {"max_total_cost": "total", "max_cost_per_cycle": "per_cycle", "max_cost_per_job": "per_job"}  # fmt: skip


def _finite(x: float) -> float | None:
    return None if math.isinf(x) else x


def _echo(value) -> str | None:
    """A field of a person's control line, as the ledger records it whatever its type."""
    return value if value is None or isinstance(value, str) else repr(value)


class SteeredLoop:
    """What the controller does with control.jsonl: read it while the loop runs and apply each
    command once (a mixin: the controller holds the state, caps, ledger and flags it changes)."""

    async def _steer(self) -> None:
        reader = ControlReader(self.run_dir)
        while True:
            for entry in await asyncio.to_thread(reader.read):
                self._apply_control(entry)
            await asyncio.sleep(min(self.config.poll_s, 0.5))

    def _apply_control(self, entry: dict) -> None:
        cid = entry.get("id")
        if not isinstance(cid, str) or cid in self.state.control_acked:
            if not isinstance(cid, str):
                self.log(f"{self.run_dir}/control.jsonl: ignored a line without an id")
            return
        command, problem = entry.get("command"), check(entry)
        if not problem:
            if command in ("pause", "resume"):
                self.paused = command == "pause"
            elif command == "stop":
                if not self.stop_reason:
                    self.stop_reason = "stopped by request"
                self._cancel_running = True
            elif command == "cancel":
                if any(j.job_id == entry["job_id"] for j in self.state.running):
                    self._cancel_requested.add(entry["job_id"])
                else:
                    problem = f"job {entry['job_id']} is not running"
            elif command == "caps":
                self._set_caps({name: entry[name] for name in CAPS if name in entry})
        caps = {name: _finite(getattr(self.caps, field)) for name, field in _CAP_FIELDS.items()}
        self._event("control", id=cid, command=_echo(command), ok=not problem, detail=problem,
                    paused=self.paused, caps=caps, job_id=_echo(entry.get("job_id")))  # fmt: skip
        if command == "stop" and not problem:
            self._event("stopping", reason=self.stop_reason)

    def _set_caps(self, caps: dict) -> None:
        changes = {_CAP_FIELDS[k]: math.inf if v is None else float(v) for k, v in caps.items()}
        self.caps = dataclasses.replace(self.caps, **changes)

    async def _while_paused(self) -> None:
        while self.paused and not self.stop_reason:
            await asyncio.sleep(0.2)
