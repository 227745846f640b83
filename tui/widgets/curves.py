"""Learning curves of the multi-fidelity loop: each training job's exact score at its checkpoints
against how much of its training was done, the band the loop predicted for the job's final score
at each rung (│, an estimate), ✗ where the loop pruned it and ↳ for a warm start.

Scores go on a log axis when they span more than LOG_SPAN: a step-0 score is many times a final
one, and on a linear axis the ends of the curves, where the decisions are, would be one line."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.model import JobCurve, RunModel
from tui.widgets.plots import DataPlot, log_ticks

EMPTY = "no intermediate results yet: training lanes (nerv) score their checkpoints"
LOG_SPAN = 3.0  # max/min score beyond which the y axis is logarithmic
# plotext's named colours, red kept for ✗ and white/black left out (one of them is the theme's)
COLORS = ("cyan", "green", "magenta", "orange", "blue+", "cyan+", "green+", "magenta+", "gray")
MIN_PLOT_ROWS = 16  # below this the per-job notes give their rows to the plot
AXIS_ROWS = 3  # what the plot's x ticks, x label and frame take from its height


def label(curve: JobCurve, model: RunModel) -> str:
    """The curve's legend entry: its tag, its setting, and what became of it."""
    text = f"{curve.tag} {curve.label}"
    if curve.parent is not None:
        parent = model.curves.get(curve.parent)
        text += f" ↳ from {parent.tag if parent else curve.parent}"
    job = model.state.jobs.get(curve.job_id)
    if curve.pruned is not None:
        text += f" ✗ pruned ({curve.pruned[0]})"
    elif job is not None and not job.finished:
        text += " running"
    elif job is not None and job.state != "ok":
        text += f" {job.state}"
    return text


def details(curve: JobCurve) -> str:
    """One line on where the job stands: its last rung, and why it was pruned or what the loop
    makes of it (its band's words, or why it has none)."""
    last = curve.rungs[-1]
    if curve.pruned is not None:
        return f"{curve.tag} ✗ pruned ({curve.pruned[0]}): {curve.pruned[2]}"
    what = "final" if last.final else last.note + (" (est.)" if last.band else "")
    return f"{curve.tag} step {last.step}/{last.steps} {last.score:.4f} · {what}"


class CurvesView(Vertical):
    """A caption line, the plot, and (where there is room) one line per job on its last rung."""

    def compose(self) -> ComposeResult:
        yield Static(id="curves-caption")
        yield CurvesPlot(id="curves-plot")
        yield Static(id="curves-notes")

    def show(self, model: RunModel) -> None:
        curves = model.learning_curves()
        height = self.size.height or max(1, self.app.size.height - 6)  # before the first layout
        # a legend row per curve, and at most half the plot's rows for the legend
        room = max(1, (height - 1 - AXIS_ROWS) // 2)
        shown = curves[-room:]
        plot, notes = self.query_one(CurvesPlot), self.query_one("#curves-notes", Static)
        plot.display = bool(shown)
        lines = [details(c) for c in shown]
        notes.display = bool(shown) and height - 1 - len(lines) >= MIN_PLOT_ROWS
        notes.update(Text("\n".join(lines), "dim"))
        caption = Text(no_wrap=True, overflow="ellipsis")
        if not shown:
            caption.append(EMPTY, "dim")
        else:
            if len(shown) < len(curves):
                caption.append(f"newest {len(shown)} of {len(curves)} jobs · ", "bold")
            caption.append(f"exact score at checkpoints{' (log)' if plot.log_scale(shown) else ''}")
            caption.append(" · │ band of final score (est.) · ✗ pruned", "dim")
        self.query_one("#curves-caption", Static).update(caption)
        if shown:
            plot.show(model, shown)


class CurvesPlot(DataPlot):
    """One line per job through its rungs (•), its bands (│, one column apart per job so that
    two jobs' bands at one rung stay apart), ✗ on a pruned job's last rung; the legend on top."""

    @staticmethod
    def log_scale(curves: list[JobCurve]) -> bool:
        scores = [r.score for c in curves for r in c.rungs]
        return bool(scores) and max(scores) > LOG_SPAN * max(min(scores), 1e-9)

    def show(self, model: RunModel, curves: list[JobCurve]) -> None:
        labels = [label(c, model) for c in curves]
        rows = max(4, (self.size.height or self.app.size.height - 8) - AXIS_ROWS)
        columns = max(20, (self.size.width or self.app.size.width) - 8)
        data = tuple((c.tag, lab, tuple(c.rungs), c.pruned) for c, lab in zip(curves, labels, strict=True))  # fmt: skip
        if not self.begin((data, rows, columns), "", EMPTY):
            return
        plt, log = self.plt, self.log_scale(curves)
        y = (lambda s: math.log10(max(s, 1e-9))) if log else (lambda s: s)
        ys: list[float] = []
        banded = [c for c in curves if any(r.band for r in c.rungs)]
        for i, (curve, text) in enumerate(zip(curves, labels, strict=True)):
            color = COLORS[i % len(COLORS)]
            xs, scores = [r.fidelity for r in curve.rungs], [y(r.score) for r in curve.rungs]
            ys += scores
            plt.plot(xs, scores, marker="braille", color=color, label=text)
            plt.scatter(xs, scores, marker="•", color=color)
            if curve in banded:  # one column apart, so that bands at one rung do not overlap
                dx = (banded.index(curve) - (len(banded) - 1) / 2) / columns
                for r in curve.rungs:
                    if r.band:
                        lo, hi = y(r.band[0]), y(r.band[2])
                        plt.plot([r.fidelity + dx] * 2, [lo, hi], marker="│", color=color)
                        ys += [lo, hi]
            if curve.pruned is not None:
                plt.scatter([xs[-1]], [scores[-1]], marker="✗", color="red")
        plt.xlim(-0.04, 1.04)
        plt.xticks([0, 0.25, 0.5, 0.75, 1], ["0", "25%", "50%", "75%", "100%"])
        plt.xlabel("training done (step / steps)")
        lo, hi = min(ys), max(ys)
        span = (hi - lo) or 1.0
        share = min(0.6, (len(curves) + 1) / rows)  # the top rows kept for the legend
        top = hi + span * share / (1 - share)
        plt.ylim(lo - 0.05 * span, top)
        if log:
            ticks = log_ticks(lo - 0.05 * span, top)
            plt.yticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        self.refresh()
