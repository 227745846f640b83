"""Spend against the caps as gauges: spent (solid) and reserved (shaded) out of each cap."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import RunModel
from tui.money import money


def gauge(spent: float, reserved: float, cap: float | None, width: int) -> Text:
    """A bar of `width` cells; no bar without a cap (nothing to measure against)."""
    if cap is None:
        return Text("(no cap)", "dim")
    used = spent + reserved
    frac_spent = min(spent / cap, 1.0) if cap > 0 else 1.0
    frac_used = min(used / cap, 1.0) if cap > 0 else 1.0
    n_spent = round(frac_spent * width)
    n_reserved = max(0, round(frac_used * width) - n_spent)
    style = "green" if frac_used < 0.7 else "yellow" if frac_used < 0.95 else "red"
    bar = Text()
    bar.append("█" * n_spent, style)
    bar.append("▒" * n_reserved, style)
    bar.append("·" * (width - n_spent - n_reserved), "dim")
    return bar


class BudgetGauges(Static):
    """Two gauges (total, this cycle) and the per-job cap; `values` keeps what was drawn."""

    text = ""  # the plain text last drawn

    values: dict[str, tuple[float, float, float | None]] = {}

    def show(self, model: RunModel) -> None:
        s, caps = model.state, model.caps()
        cur = model.config.get("currency", "$")
        cycle_spent, cycle_reserved = model.cycle_committed(s.cycle)
        self.values = {
            "total": (s.spent, s.reserved, caps["max_total_cost"]),
            "cycle": (cycle_spent, cycle_reserved, caps["max_cost_per_cycle"]),
        }
        job_cap = caps["max_cost_per_job"]
        lines = []
        for name, (spent, reserved, cap) in self.values.items():
            words = f" {money(spent, cur)} spent + {money(reserved, cur)} held"
            if cap is not None:
                words += f" of {money(cap, cur)}, {money(max(cap - spent - reserved, 0), cur)} left"
            tail = ""
            if name == "total":
                tail = "  job cap " + ("none" if job_cap is None else money(job_cap, cur))
            lines.append((f"{'total' if name == 'total' else f'cycle {s.cycle}':>8} ", spent, reserved, cap, words, tail))  # fmt: skip
        # the bars take what the words leave (one width: they line up); at 80 columns every
        # number stays in view
        width = max(6, min(40, min(self.size.width - len(a) - len(w) - len(t) for a, *_, w, t in lines)))  # fmt: skip
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, spent, reserved, cap, words, tail) in enumerate(lines):
            out.append("\n" if i else "")
            out.append(label, "bold")
            out.append_text(gauge(spent, reserved, cap, width))
            out.append(words)
            out.append(tail, "dim")
        self.text = out.plain  # what tests and benchmarks read
        self.update(out)
