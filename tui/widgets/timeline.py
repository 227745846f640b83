"""Cycles one per line, and where the loop stands against its stopping rules."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import RunModel
from tui.widgets.header import clock


class Timeline(Static):
    text = ""  # the plain text last drawn

    def show(self, model: RunModel) -> None:
        s, cfg = model.state, model.config
        t = Text()
        if not model.cycles:
            t.append("no cycle yet", "dim")
        for c in sorted(model.cycles.values(), key=lambda c: c.cycle):
            took = f"{c.finished - c.started:.0f} s" if c.finished and c.started else "running"
            t.append(f"cycle {c.cycle:>3}  ", "bold")
            t.append(f"{clock(c.started)}  {took:>8}  {c.jobs:>3} jobs  ")
            t.append(
                "explore " if c.exploring else "exploit ", "magenta" if c.exploring else "green"
            )
            t.append(f"best {'—' if c.best is None else f'{c.best:.4f}'}\n")
        t.append("\n")
        eps, patience = cfg.get("convergence_eps", 0), cfg.get("patience", 2)
        if eps:
            gains = [a - b for a, b in zip(s.best, s.best[1:], strict=False)]
            recent = ", ".join(f"{g:.4f}" for g in gains[-patience:]) or "—"
            t.append(f"convergence: stop when the best improves < {eps} over {patience} cycles; last gains {recent}\n")  # fmt: skip
        else:
            t.append("convergence: off (--convergence-eps 0)\n", "dim")
        t.append(f"stops at cycle {cfg.get('max_cycles', '?')}")
        if s.stop_reason:
            t.append(f"; stopped: {s.stop_reason}", "bold yellow" if not s.finished else "bold")
        if s.finished:
            t.append("  (run finished)", "bold cyan")
        self.text = t.plain  # what tests and benchmarks read
        self.update(t)
