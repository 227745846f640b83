"""Plots (textual-plotext): predicted bands against measured scores, and bytes against score."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from tui.model import RunModel


class BandPlot(PlotextPlot):
    """Each dispatched candidate that had a band: its predicted interval (a vertical bar), its
    predicted mid (·) and, once measured, its exact score (×); x is the dispatch order."""

    drawn: tuple = ()

    def show(self, model: RunModel) -> None:
        rows = model.bands_vs_measured()
        if rows == self.drawn:
            return
        self.drawn = tuple(rows)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("predicted band (est.) vs measured score")
        plt.xlabel("dispatch (cycle.n)")
        if not rows:
            plt.title("no banded candidate dispatched yet (exploration has no bands)")
            self.refresh()
            return
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


class FrontierPlot(PlotextPlot):
    """Every measured setting as (archive bytes, score) and the frontier of the best trade-offs."""

    drawn: tuple = ()

    def show(self, model: RunModel) -> None:
        points, front = model.frontier()
        if tuple(points) == self.drawn:
            return
        self.drawn = tuple(points)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("measured: archive KB vs score (lower is better)")
        if not points:
            plt.title("no measured setting yet")
            self.refresh()
            return
        plt.scatter([p[0] / 1000 for p in points], [p[1] for p in points], marker="•", color="cyan", label="anchors")  # fmt: skip
        plt.plot(
            [f[0] / 1000 for f in front], [f[1] for f in front], color="green", label="frontier"
        )
        plt.xlabel("archive KB")
        self.refresh()
