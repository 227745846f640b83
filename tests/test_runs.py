"""`tac runs list|show|compare`, `tac export` and `tac plot` on runs read back from their ledgers
(synthetic runs, labelled as such: `tac.control.synthetic`)."""

import csv
import io
import json

import pytest

from tac.control.synthetic import SyntheticRun, mid_run
from tests.conftest import run_tac


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    mid_run(root / "a")
    b = SyntheticRun(root / "b", run_id="synthetic-b")  # one measured job, cheaper and worse
    b.start_cycle()
    b.finish(b.dispatch(38), 38, cost=0.05)
    b.end_cycle(b.truth(b.params(38))["score"])
    b.close()
    other = SyntheticRun(root / "c", run_id="synthetic-c", runner_axis="cuda")  # another axis
    other.close()
    return root


def one_error_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_list_show_and_compare_read_runs_back(runs):
    listed = json.loads(run_tac("runs", "list", "--root", str(runs), "--json").stdout)
    assert [r["run"] for r in listed] == ["a", "b", "c"]
    a = listed[0]
    assert a["jobs"] == {"ok": 4, "failed": 1, "running": 1} and a["anchors"] == 4
    assert a["spent"] == pytest.approx(0.11) and a["best"]["lane"] == "codec"
    table = run_tac("runs", "list", "--root", str(runs)).stdout
    assert "4/6 ok" in table and "6.6538" in table

    shown = run_tac("runs", "show", str(runs / "a"))
    assert (
        shown.returncode == 0 and "best per lane" in shown.stdout and "exit code 1" in shown.stdout
    )
    details = json.loads(run_tac("runs", "show", str(runs / "a"), "--json").stdout)
    assert len(details["jobs_table"]) == 6 and details["cycles_table"][0]["cycle"] == 1

    same = json.loads(run_tac("runs", "compare", str(runs / "a"), str(runs / "b"), "--json").stdout)
    assert (
        same["comparable"] and same["runs"][0]["best"]["score"] < same["runs"][1]["best"]["score"]
    )
    side = run_tac("runs", "compare", str(runs / "a"), str(runs / "b"), str(runs / "c"))
    assert side.returncode == 0 and "best codec" in side.stdout and "not comparable" in side.stdout
    assert "not a tac run" in one_error_line(run_tac("runs", "show", str(runs)))


def test_export_writes_each_table_as_csv_and_everything_as_json(runs, tmp_path):
    rows = list(csv.DictReader(io.StringIO(run_tac("export", str(runs / "a")).stdout)))
    assert len(rows) == 4 and {"id", "lane", "score", "seg", "pose", "archive_bytes", "archive_sha256"} <= set(rows[0])  # fmt: skip
    jobs = list(csv.DictReader(io.StringIO(run_tac("export", str(runs / "a"), "--table", "jobs").stdout)))  # fmt: skip
    assert sorted(j["state"] for j in jobs) == ["failed", "ok", "ok", "ok", "ok", "running"]
    out = tmp_path / "a.json"
    assert run_tac("export", str(runs / "a"), "--format", "json", "-o", str(out)).returncode == 0
    everything = json.loads(out.read_text())
    assert (
        set(everything) == {"run", "anchors", "jobs", "cycles"} and len(everything["anchors"]) == 4
    )
    assert "--format xml: use csv or json" in one_error_line(run_tac("export", str(runs / "a"), "--format", "xml"))  # fmt: skip


def test_plot_writes_an_interactive_page_and_an_image(runs, tmp_path):
    done = run_tac("plot", str(runs / "a"), "-o", str(tmp_path / "p"), "--json")
    assert done.returncode == 0, done.stderr
    paths = json.loads(done.stdout)
    html = (tmp_path / "p" / "rd.html").read_text()
    assert paths["html"].endswith("rd.html") and "plotly" in html.lower()
    assert "hevc-crf22-s0.500-p05medium" in html
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js embedded: opens offline
    assert (tmp_path / "p" / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no measured anchors" in one_error_line(run_tac("plot", str(runs / "c")))


def test_the_example_notebook_reads_a_run(runs):
    """examples/explore_run.py is a marimo notebook; as a script it runs every cell."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    notebook = REPO / "examples" / "explore_run.py"
    env = os.environ | {"TAC_RUN_DIR": str(runs / "a")}
    done = subprocess.run([sys.executable, str(notebook)], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "a: running or killed; 1 cycles, 4 anchors, best 6.65" in done.stdout
    check = subprocess.run([sys.executable, "-m", "marimo", "check", str(notebook)], capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
