"""The first line: which run, where its scores come from, and whether it is alive."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from tui.model import RunModel

STATUS_STYLE = {"running": "bold green", "paused": "bold yellow", "stopping": "bold yellow",
                "finished": "bold cyan", "vanished": "bold white on red", "waiting": "dim"}  # fmt: skip


def clock(ts: float | None) -> str:
    """UTC wall clock: the same on every machine that watches the run."""
    return "—" if ts is None else time.strftime("%H:%M:%S", time.gmtime(ts)) + "Z"


class RunHeader(Static):
    text = ""  # the plain text last drawn

    def show(self, model: RunModel, pending: str = "") -> None:
        s, cfg = model.state, model.config
        status = model.status()
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {s.run_id or model.run_dir.name} ", "bold reverse")
        t.append(f" {status.upper()} ", STATUS_STYLE[status])
        if cfg:
            t.append(f" cycle {s.cycle}/{cfg.get('max_cycles', '?')}")
            t.append(f"  axis {cfg.get('runner_axis', '?')}")
            if model.weights_official:
                t.append(" official weights", "bold green")
            else:
                t.append(" STAND-IN weights", "bold yellow")
        best = model.best()
        t.append(f"  best {'—' if best is None else f'{best:.4f}'}", "bold")
        if pending:
            t.append(f"  sent: {pending}…", "bold magenta")
        if model.skipped_lines or model.skipped:
            t.append(f"  {model.skipped_lines + model.skipped} unreadable events skipped", "yellow")
        if model.vanished:
            t.append(f"  {model.vanished}", "bold red")
        if cfg:  # the long tail: cut first on a narrow terminal
            t.append(f"  weights {cfg.get('weights', '?')}", "dim")
        t.append(f"  last event {clock(model.last_ts)}", "dim")
        self.text = t.plain  # what tests and benchmarks read
        self.update(t)
