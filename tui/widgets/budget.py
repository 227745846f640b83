"""Spend against the caps as gauges: spent (solid) and reserved (shaded) out of each cap."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.model import RunModel


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


def money(x: float | None) -> str:
    return "∞" if x is None else f"{x:.4g}"


class BudgetGauges(Static):
    """Two gauges (total, this cycle) and the per-job cap; `values` keeps what was drawn."""

    text = ""  # the plain text last drawn

    values: dict[str, tuple[float, float, float | None]] = {}

    def show(self, model: RunModel) -> None:
        s, caps = model.state, model.caps()
        cycle_spent, cycle_reserved = model.cycle_committed(s.cycle)
        self.values = {
            "total": (s.spent, s.reserved, caps["max_total_cost"]),
            "cycle": (cycle_spent, cycle_reserved, caps["max_cost_per_cycle"]),
        }
        width = max(8, min(40, self.size.width - 66))
        out = Text(no_wrap=True, overflow="ellipsis")
        for name, (spent, reserved, cap) in self.values.items():
            out.append(f"{'total' if name == 'total' else f'cycle {s.cycle}':>8} ", "bold")
            out.append_text(gauge(spent, reserved, cap, width))
            out.append(f" {spent:.4g} spent + {reserved:.4g} held of {money(cap)}")
            if cap is not None:
                out.append(f", {max(cap - spent - reserved, 0):.4g} left", "bold")
            if name == "total":
                out.append(f"   job cap {money(caps['max_cost_per_job'])}\n", "dim")
        self.text = out.plain  # what tests and benchmarks read
        self.update(out)
