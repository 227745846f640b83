"""A lane written only under tests/ (`tests/lanes/flat.py`) runs through a real loop — ranked with
the codec lane in one ranking, dispatched as real jobs, harvested, and shown in tac-dash — with
nothing in tac.search, tac.control, tac.jobs or tui naming it: it is registered by $TAC_PLUGINS."""

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

import tests.lanes.flat  # noqa: F401  (this process reads the run's ledger: it needs the lane too)
from tac.control.ledger import fold, read_events
from tests.conftest import REPO

PLUGIN = "tests.lanes.flat"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two cycles over codec + flat: explore one of each, then rank both together."""
    run_dir = tmp_path_factory.mktemp("plugin") / "run"
    env = {**os.environ, "TAC_PLUGINS": PLUGIN, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(run_dir), "--lanes", "codec,flat",
         "--codecs", "hevc", "--presets", "ultrafast", "--demo-frames", "8", "--max-cycles", "2",
         "--explore", "2", "--local-concurrency", "2", "--poll-s", "0.5", "--option", "flat.sides=6,24,96"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


def test_the_plugin_lane_is_ranked_dispatched_and_harvested(run):
    evs = read_events(run / "ledger.jsonl")
    state = fold(evs)
    assert state.finished and state.cycles_finished == 2
    lanes = Counter(e.spec.candidate.lane for e in evs if e.type == "dispatched")
    assert lanes["flat"] >= 1 and lanes["codec"] >= 1, lanes
    flat_jobs = {
        e.job_id for e in evs if e.type == "dispatched" and e.spec.candidate.lane == "flat"
    }
    harvested = {e.job_id for e in evs if e.type == "harvested"}
    assert flat_jobs <= harvested
    flat_anchors = [a for a in state.anchors if a.lane == "flat"]
    assert flat_anchors and all(a.params.id() == a.id and a.id.startswith("flat-") for a in flat_anchors)  # fmt: skip
    assert all(0 < a.score and a.archive_bytes > 0 for a in flat_anchors)
    # cycle 2 ranked both lanes in one ranking; the digest shows rows of each
    [ranked] = [e for e in evs if e.type == "ranked"]
    assert {r.lane for r in ranked.shown} == {"codec", "flat"}
    assert all(r.refusal for r in ranked.shown if r.lane == "flat")  # too few anchors: refused
    assert (
        ranked.n == 65 + 9
    )  # 5 scales × 13 crfs of hevc; 3 sides (--option) × 3 bit depths of flat
    assert json.loads((run / "config.json").read_text())["space"]["flat"] == {"sides": [6, 24, 96], "bit_depths": [3, 5, 8]}  # fmt: skip


def test_an_unknown_lane_or_lane_option_is_one_line(run, tmp_path):
    """Without the plug-in the lane is unknown; with it, its options are the lane's to check."""
    env = {k: v for k, v in os.environ.items() if k != "TAC_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(tmp_path / "r"), "--lanes", "flat", "--max-cycles", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "unknown lane 'flat'" in proc.stderr and "codec" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(tmp_path / "r"), "--lanes", "flat", "--option", "flat.colours=3", "--max-cycles", "1"],
        cwd=REPO, env={**os.environ, "TAC_PLUGINS": PLUGIN, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and not (tmp_path / "r").exists()
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "error: --option flat.colours: the flat lane has no such option (it has sides, bit_depths)"
    )


def test_tac_dash_shows_the_plugin_lane(run):
    from tui.app import DashApp

    async def main():
        app = DashApp(run)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause(0.5)
            flat = [r for r in app.model.candidates.values() if r.lane == "flat"]
            assert flat and any(r.score is not None for r in flat)  # a harvested flat anchor
            table = app.query_one("#candidates-table")
            cells = {str(table.get_cell_at((y, x))) for y in range(table.row_count) for x in range(len(table.columns))}  # fmt: skip
            assert "flat" in cells and any(c.startswith("thumb ") for c in cells)

    asyncio.run(main())
