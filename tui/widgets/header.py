"""The first line: which run, where its scores come from, and whether it is alive."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget

from tui.model import RunModel

STATUS_STYLE = {"running": "bold green", "paused": "bold yellow", "stopping": "bold yellow",
                "finished": "bold cyan", "vanished": "bold white on red", "waiting": "dim"}  # fmt: skip


def clock(ts: float | None) -> str:
    """UTC wall clock: the same on every machine that watches the run."""
    return "—" if ts is None else time.strftime("%H:%M:%S", time.gmtime(ts)) + "Z"


def fit(parts: list[tuple[str, str, int]], width: int) -> Text:
    """`parts` (text, style, priority) in their order, leaving out the least important (highest
    priority number) until they fit in `width`: a narrow terminal loses whole facts, never the
    end of one. Priority 0 is always kept (cut with an ellipsis if it alone is too wide)."""
    kept = list(parts)
    for level in sorted({p for *_, p in parts if p > 0}, reverse=True):
        if sum(len(text) for text, *_ in kept) <= width:
            break
        kept = [part for part in kept if part[2] != level]
    t = Text(no_wrap=True, overflow="ellipsis")
    for text, style, _ in kept:
        t.append(text, style)
    t.truncate(width, overflow="ellipsis")
    return t


class RunHeader(Widget):
    text = ""  # the plain text of every fact, whatever fits: what tests and benchmarks read
    parts: list[tuple[str, str, int]] = []

    def show(self, model: RunModel, pending: str = "") -> None:
        s, cfg = model.state, model.config
        status = model.status()
        best = model.best()
        parts = [(f" {s.run_id or model.run_dir.name} ", "bold reverse", 0),
                 (f" {status.upper()} ", STATUS_STYLE[status], 0)]  # fmt: skip
        if model.vanished:
            parts.append((f"  {model.vanished}", "bold red", 0))
        if pending:
            parts.append((f"  sent: {pending}…", "bold magenta", 1))
        if cfg:
            parts.append((f"  cycle {s.cycle}/{cfg.get('max_cycles', '?')}", "", 2))
        parts.append((f"  best {'—' if best is None else f'{best:.4f}'}", "bold", 1))
        if cfg:  # where scores come from: stand-in weights must never look official
            parts.append(("  official weights", "bold green", 3) if model.weights_official else ("  STAND-IN weights", "bold yellow", 1))  # fmt: skip
            parts.append((f"  axis {cfg.get('runner_axis', '?')}", "", 3))
        if model.skipped_lines or model.skipped:
            parts.append((f"  {model.skipped_lines + model.skipped} unreadable events skipped", "yellow", 2))  # fmt: skip
        parts.append((f"  last event {clock(model.last_ts)}", "dim", 4))
        if cfg:
            parts.append((f"  weights {cfg.get('weights', '?')}", "dim", 5))
        self.parts = parts
        self.text = "".join(text for text, *_ in parts)
        self.refresh()

    def render(self) -> Text:
        return fit(self.parts, self.size.width)
