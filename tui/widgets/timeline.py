"""Cycles one per line, and where the loop stands against its stopping rules."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import RunModel
from tui.widgets.header import clock


def score(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


class Timeline(Static):
    text = ""  # the plain text last drawn

    def show(self, model: RunModel) -> None:
        s, cfg = model.state, model.config
        t = Text()
        if not model.cycles:
            t.append("no cycle yet\n", "dim")
        else:
            t.append(f"{'cycle':>5}  {'started':<9}  {'took':>7}  {'jobs':>4}  {'mode':<7}  {'run best':>8}  cycle's best\n", "bold")  # fmt: skip
        for c in sorted(model.cycles.values(), key=lambda c: c.cycle):
            running = not c.finished
            took = "running" if running else f"{c.finished - c.started:.0f} s" if c.started else "—"
            best = model.best() if running else c.best  # a running cycle: the run's best so far
            t.append(f"{c.cycle:>5}  {clock(c.started):<9}  {took:>7}  {c.jobs:>4}  ")
            t.append(f"{'explore' if c.exploring else 'exploit':<7}  ", "magenta" if c.exploring else "green")  # fmt: skip
            t.append(f"{score(best):>8}  {score(c.own_best):>12}")
            t.append(" so far\n" if running else "\n", "dim")
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
