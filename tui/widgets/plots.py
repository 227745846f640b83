"""Plots (textual-plotext): predicted bands against measured scores, and bytes against score."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from tui.model import RunModel


class _Plot(PlotextPlot):
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


class BandPlot(_Plot):
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
        self.refresh()


class FrontierPlot(_Plot):
    """Every measured setting as (archive bytes, score) and the frontier of the best trade-offs."""

    def show(self, model: RunModel) -> None:
        points, front = model.frontier()
        if not self.begin(tuple(points), "measured: archive KB vs score (lower is better)", "no measured setting yet"):  # fmt: skip
            return
        plt = self.plt
        plt.scatter([p[0] / 1000 for p in points], [p[1] for p in points], marker="•", color="cyan", label="anchors")  # fmt: skip
        plt.plot(
            [f[0] / 1000 for f in front], [f[1] for f in front], color="green", label="frontier"
        )
        plt.xlabel("archive KB")
        self.refresh()
