"""Why the predictor refused what it refused: counts by reason, and the selected candidate's sentence."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tac.search.refusals import REFUSALS
from tui.model import CandidateRow, RunModel


class RefusalPanel(Static):
    text = ""  # the plain text last drawn
    counts: dict[str, int] = {}

    def show(self, model: RunModel, selected: CandidateRow | None) -> None:
        s = model.state
        self.counts = dict(sorted(s.refusals.items(), key=lambda kv: (-kv[1], kv[0])))
        total = sum(self.counts.values())
        t = Text()
        if not model.state.run_id:
            t.append("waiting for the run to start", "dim")
        elif not self.counts:
            ranked = bool(s.last_ranked) or any(
                r.rank is not None for r in model.candidates.values()
            )
            t.append("no refusals in the last ranking" if ranked else
                     "nothing ranked yet: the loop explores until it has anchors to calibrate on", "dim")  # fmt: skip
        else:
            t.append(f"last ranking: {total:,} candidates refused\n", "bold")
            width = max(c for c in self.counts.values())
            for code, n in self.counts.items():
                gate = REFUSALS.get(code, ("?", ""))[0]
                bar = "█" * max(1, round(20 * n / width))
                t.append(f"{n:>7,} ", "bold")
                t.append(f"{bar:<20} ", "red")
                t.append(f"{code}", "bold")
                t.append(f"  ({gate}: {REFUSALS.get(code, ('', ''))[1]})\n", "dim")
        t.append("\n")
        if selected is None:
            t.append("select a candidate (tab 1) to see its reason", "dim")
        else:
            t.append(f"{selected.id}: ", "bold")
            if selected.refusal:
                t.append(f"refused ({selected.refusal}) — {selected.reason}", "red")
            elif selected.status == "explore":
                t.append(f"explored without a band — {selected.reason}", "magenta")
            else:
                t.append(f"{selected.status}", "green")
        self.text = t.plain  # what tests and benchmarks read
        self.update(t)
