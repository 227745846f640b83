"""Plots (textual-plotext): predicted bands against measured scores, and bytes against score."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from tui.model import RunModel


class DataPlot(PlotextPlot):
    """A plot that redraws only when the data it is shown changed."""

    drawn: tuple | None = None  # the data last drawn: plotting again only when it changed

    def begin(self, data: tuple, title: str, empty: str) -> bool:
        """Start a fresh figure for `data`; False when there is nothing new or nothing to draw."""
        if data == self.drawn:
            return False
        self.drawn = data
        self.plt.clear_data()
        self.plt.clear_figure()
        self.plt.title(title if data else empty)
        if not data:
            self.refresh()
        return bool(data)


class BandPlot(DataPlot):
    """Each dispatched candidate that had a band: its predicted interval (a vertical bar), its
    predicted mid (·) and, once measured, its exact score (×); x is the dispatch order."""

    def show(self, model: RunModel) -> None:
        rows = tuple(model.bands_vs_measured())
        title = "predicted band (est.) vs measured score"
        if not self.begin(rows, title, "no banded candidate dispatched yet (exploration has no bands)"):  # fmt: skip
            return
        plt = self.plt
        plt.xlabel("dispatch (cycle.n)")
        xs = list(range(1, len(rows) + 1))
        inside = 0
        for x, (_cycle, _id, lo, _mid, hi, measured) in zip(xs, rows, strict=True):
            plt.plot([x, x], [lo, hi], color="blue", marker="│")
            inside += measured is not None and lo <= measured <= hi
        plt.scatter(xs, [r[3] for r in rows], marker="·", color="blue", label="predicted mid")
        measured = [(x, r[5]) for x, r in zip(xs, rows, strict=True) if r[5] is not None]
        if measured:
            plt.scatter([m[0] for m in measured], [m[1] for m in measured], marker="×", color="red",
                        label=f"measured ({inside}/{len(measured)} inside)")  # fmt: skip
        nth: dict[int, int] = {}
        labels = []
        for r in rows:
            nth[r[0]] = nth.get(r[0], 0) + 1
            labels.append(f"{r[0]}.{nth[r[0]]}")
        plt.xticks(xs, labels)
        plt.xlim(0.5, len(xs) + 0.5)
        # margins: no mark on the frame, and the top fifth kept for the legend
        ys = [v for r in rows for v in (r[2], r[4], r[5]) if v is not None]
        span = (max(ys) - min(ys)) or 1.0
        plt.ylim(min(ys) - 0.1 * span, max(ys) + 0.35 * span)
        self.refresh()


class FrontierPlot(DataPlot):
    """Every measured setting as (archive bytes, score) on a log-bytes axis (settings a few
    times apart in size spread evenly), and the frontier of the best trade-offs, each of its
    points labelled with its setting."""

    def show(self, model: RunModel) -> None:
        points, front = model.frontier()
        labels = {p[2]: (model.candidates[p[2]].params if p[2] in model.candidates else p[2]) for p in points}  # fmt: skip
        if not self.begin((tuple(points), tuple(labels.values())), "measured: archive bytes vs score (lower is better)", "no measured setting yet"):  # fmt: skip
            return
        plt = self.plt
        # log bytes, drawn by hand: plotext's own log axis breaks on explicit limits
        x = {p[2]: math.log10(p[0] / 1000) for p in points}
        plt.plot([math.log10(f[0] / 1000) for f in front], [f[1] for f in front], color="green", label="frontier")  # fmt: skip
        plt.scatter(list(x.values()), [p[1] for p in points], marker="•", color="cyan", label="anchors")  # fmt: skip
        # margins: labels run right of their points (room for the longest one at this width:
        # the pane's, or the terminal's before the pane is laid out), the legend sits top left
        lo, hi = min(x.values()), max(x.values())
        span = (hi - lo) or 1.0
        columns = max(20, (self.size.width or self.app.size.width) - 8)
        share = min(0.6, (max(map(len, labels.values())) + 2) / columns)
        left, right = lo - 0.08 * span, hi + (1.08 * share / (1 - share)) * span
        on_front = set(front)
        for nbytes, score, cid in points:
            if (nbytes, score) in on_front:  # one column right of its point
                plt.text(labels[cid], x[cid] + (right - left) / columns, score, color="white", alignment="left")  # fmt: skip
        plt.xlim(left, right)
        ticks = log_ticks(left, right)
        plt.xticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        ys = [p[1] for p in points]
        span = (max(ys) - min(ys)) or 1.0
        plt.ylim(min(ys) - 0.1 * span, max(ys) + 0.3 * span)
        plt.xlabel("archive KB (log scale)")
        self.refresh()


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 steps between 10**lo and 10**hi, thinned to at most 6."""
    ticks = [m * 10.0**e for e in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo <= math.log10(t) <= hi]
    return ticks[:: max(1, math.ceil(len(ticks) / 6))]
