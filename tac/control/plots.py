"""A run's rate–distortion picture (`tac plot RUN`): its anchors per lane, archive bytes on a log
axis against the exact score, each lane's frontier drawn through its best points.

Two renderings of one figure: an interactive HTML page (Plotly, its JavaScript embedded so the
page opens offline) and a static PNG (matplotlib) for reports. Both need `tac[viz]`. Only the
run's own axis and weights are drawn: scores from elsewhere are not comparable with them.
"""

from __future__ import annotations

from pathlib import Path

from tac import atomic
from tac.control.runs import Run
from tac.errors import TacError
from tac.records import Anchor


def _need(module: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise TacError(f"tac plot needs {module.split('.')[0]}: pip install 'tac[viz]'") from None


def by_lane(run: Run) -> dict[str, list[Anchor]]:
    lanes: dict[str, list[Anchor]] = {}
    for anchor in sorted(run.state.measured(), key=lambda a: a.archive_bytes):
        lanes.setdefault(anchor.lane or "?", []).append(anchor)
    return lanes


def frontier(anchors: list[Anchor]) -> list[Anchor]:
    """The points no other point beats on both bytes and score (by bytes, ascending)."""
    out: list[Anchor] = []
    for a in sorted(anchors, key=lambda a: (a.archive_bytes, a.score)):
        if not out or a.score < out[-1].score:
            out.append(a)
    return out


def _title(run: Run) -> str:
    return f"{run.name}: exact score against archive bytes ({run.scored_on})"


def write_html(run: Run, path: Path) -> Path:
    go = _need("plotly.graph_objects")
    fig = go.Figure()
    for lane, anchors in by_lane(run).items():
        fig.add_trace(go.Scatter(
            x=[a.archive_bytes for a in anchors], y=[a.score for a in anchors], mode="markers", name=lane,
            text=[f"{a.id}<br>seg {a.seg:.5f} · pose {a.pose:.5f}" for a in anchors],
            hovertemplate="%{text}<br>%{x:,} bytes · score %{y:.4f}<extra>" + lane + "</extra>",
        ))  # fmt: skip
        front = frontier(anchors)
        fig.add_trace(go.Scatter(x=[a.archive_bytes for a in front], y=[a.score for a in front],
                                 mode="lines", name=f"{lane} frontier", line={"dash": "dot"}))  # fmt: skip
    fig.update_layout(title=_title(run), xaxis_title="archive bytes (log)", yaxis_title="score (lower is better)",
                      xaxis_type="log", template="plotly_white")  # fmt: skip
    with atomic.atomic_writer(path, "w") as f:
        fig.write_html(f, include_plotlyjs=True, full_html=True)  # embedded: opens offline
    return path


def write_png(run: Run, path: Path) -> Path:
    matplotlib = _need("matplotlib")
    matplotlib.use("Agg")  # no display needed
    plt = _need("matplotlib.pyplot")
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    for lane, anchors in by_lane(run).items():
        points = ax.scatter(
            [a.archive_bytes for a in anchors], [a.score for a in anchors], label=lane, s=24
        )
        front = frontier(anchors)
        ax.plot([a.archive_bytes for a in front], [a.score for a in front], linestyle=":", color=points.get_facecolor()[0])  # fmt: skip
        for a in front:  # label the frontier: the points a reader asks about
            ax.annotate(a.id, (a.archive_bytes, a.score), fontsize=6, xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set(xlabel="archive bytes (log)", ylabel="score (lower is better)", title=_title(run))
    ax.title.set_fontsize(9)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic.atomic_writer(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return path


def plot_run(run: Run, out_dir: Path) -> list[Path]:
    if not run.state.measured():
        raise TacError(f"{run.path}: no measured anchors yet on its own axis and weights: nothing to plot")  # fmt: skip
    return [write_html(run, out_dir / "rd.html"), write_png(run, out_dir / "rd.png")]
