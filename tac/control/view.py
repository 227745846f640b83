"""What `tac loop` shows while it runs: a rich live panel in a terminal, event lines otherwise."""

from __future__ import annotations

import math

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tac.control.events import Event
from tac.control.ledger import RunState

QUIET = {"heartbeat", "log", "budget", "reserved", "multipliers"}


def event_line(e: Event) -> str | None:
    """One plain line for the events a person wants in a log; None for the chatty ones."""
    t = e.type
    if t in QUIET:
        return None
    if t == "resumed":
        extended = f"; --max-cycles now {e.max_cycles}" if e.max_cycles else ""
        return f"resumed: {len(e.running)} job(s) still running reattached{extended}"
    if t == "cycle_started":
        return f"cycle {e.cycle}"
    if t == "ranked":
        refused = ", ".join(f"{k} {v}" for k, v in sorted(e.refusals.items()))
        hints = f"; {'; '.join(e.hints)}" if e.hints else ""
        return (
            f"  ranked {e.n} candidates: {e.eligible} eligible"
            + (f" (refused: {refused})" if refused else "")
            + hints
        )
    if t == "exploring":
        return f"  exploring {len(e.ids)}: {e.reason}"
    if t == "dispatched":
        return f"  → {e.job_id} on {e.host}"
    if t == "finished":
        extra = f" ({e.detail})" if e.detail else ""
        return f"  ← {e.job_id}: {e.outcome} in {e.wall_s:.0f} s, cost {e.cost:.4f}{extra}"
    if t == "harvested":
        if not e.ok:
            return f"  not harvested {e.job_id}: {e.reason}"
        return f"  harvested {e.job_id} (lost earlier; its host finished it)" if e.late else None
    if t == "anchor_added":
        a, seeded = e.anchor, f" (seeded from {e.source})" if e.job_id is None else ""
        return f"  anchor {a.id}{seeded}: score {a.score:.4f} (seg {a.seg:.5f}, pose {a.pose:.5f}, {a.archive_bytes:,} B)"
    if t == "cycle_finished":
        return (
            f"cycle {e.cycle} done; best so far {e.best:.4f}"
            if e.best is not None
            else f"cycle {e.cycle} done"
        )
    if t == "refused":
        return f"  refused {e.candidate}: {e.reason}"
    if t == "control":
        what = (e.command or "?") + (f" {e.job_id}" if e.job_id else "")
        return (
            f"control: {what} "
            + ("applied" if e.ok else f"rejected ({e.detail})")
            + (" — paused" if e.paused else "")
        )
    if t == "orphan_cancelled":
        return f"  cancelled {e.job_id} (lost earlier, found running again)"
    if t in ("converged", "stopping"):
        return f"stopping: {e.reason}"
    if t == "run_finished":
        return f"run finished: {e.reason}; spent {e.spent:.4f}"
    return None


def live_panel(state: RunState, config, caps_total: float) -> Group:
    best = next((a.score for a in state.measured()), None)
    cap = "∞" if math.isinf(caps_total) else f"{caps_total:.2f}"
    head = Text.from_markup(
        f"[b]tac loop[/] {escape(state.run_id)}  cycle {state.cycle}/{config.max_cycles}  "
        f"axis {config.runner_axis} / {escape(config.weights)}\n"
        f"spent {state.spent:.4f} + reserved {state.reserved:.4f} of {cap}   "
        f"anchors {len(state.anchors)}   best {'—' if best is None else f'{best:.4f}'}"
    )
    jobs = Table(box=None, pad_edge=False)
    for col in ("job", "host", "state", "wall"):
        jobs.add_column(col)
    for j in state.running[-8:]:
        jobs.add_row(escape(j.job_id), escape(j.host), j.state, f"{j.wall_s:.0f} s")
    return Group(head, jobs) if state.running else Group(head)
