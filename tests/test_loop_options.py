"""`tac loop` checks its options before it creates anything, and resolves data and weights once,
where options are parsed: one line per mistake, exit 2, no run directory left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tac.control.ledger import read_events
from tests.conftest import REPO, run_tac

QUICK = ["--demo-frames", "8", "--presets", "ultrafast", "--max-cycles", "1", "--explore", "0"]


def one_error_line(proc) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--coverage", "nan"], "--coverage nan: must be above 0.5 and below 1"),
        (["--coverage", "5"], "--coverage 5: must be above 0.5 and below 1"),
        (["--coverage", "0.5"], "--coverage 0.5: must be above 0.5 and below 1"),
        (["--poll-s", "0"], "--poll-s 0.0: Input should be greater than 0"),
        (["--max-total-cost", "-1"], "--max-total-cost -1.0: Input should be greater than or equal to 0"),
        (["--max-total-cost", "nan"], "--max-total-cost nan: Input should be a finite number"),
        (["--codecs", "hevc,bogus"], "--codecs hevc,bogus: unknown codec 'bogus'; known: hevc, av1, h264"),
        (["--crfs", "99"], "--crfs 99: crf 99 is outside every searched codec's range (hevc: 0..51)"),
        (["--crfs", "26,x"], "--crfs 26,x: write comma-separated numbers"),
        (["--scales", "0.5,1.5"], "--scales 0.5,1.5: scale 1.5: each must be above 0 and at most 1"),
        (["--presets", "fastest"], "--presets fastest: no searched codec has preset 'fastest' (hevc: ultrafast,"),
        (["--local-price", "inf"], "--local-price inf: Input should be a finite number"),
        (["--data", "bogus"], "--data bogus: use demo or challenge"),
        (["--lanes", "codec,nerv", "--train-profile", "contest"], "--train-profile contest: the codec lane's profiles are compact_int4, proven_baseline, smoke (name one per lane: --train-profile codec=NAME)"),
        (["--lanes", "nerv", "--train-profile", "nerv=huge"], "--train-profile nerv=huge: the nerv lane's profiles are contest, smoke"),
        (["--train-profile", "nerv=contest"], "--train-profile nerv=…: 'nerv' is not a searched lane (--lanes codec)"),
        (["--train-profile", "=contest"], "--train-profile =contest: write NAME, or LANE=NAME"),
        (["--local-device", "gpu"], "--local-device gpu: Input should be 'cpu' or 'cuda'"),
        (["--currency", "dollars"], "--currency dollars: String should have at most 3 characters"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_and_leave_nothing_behind(tmp_path, args, expected):
    run = tmp_path / "run"
    line = one_error_line(run_tac("loop", "--run-dir", str(run), *args))
    assert expected in line
    assert not run.exists()  # nothing written: the same --run-dir works next time


def test_a_host_priced_at_infinity_is_refused_before_anything_runs(tmp_path):
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[[host]]\nname = "gpu"\ndestination = "me@gpu"\nworkdir = "/w"\nprice_per_hour = inf\n')  # fmt: skip
    line = one_error_line(run_tac("loop", "--run-dir", str(tmp_path / "run"), "--hosts", str(hosts)))  # fmt: skip
    assert "host 'gpu': price_per_hour: Input should be a finite number" in line
    assert not (tmp_path / "run").exists()


def test_search_rank_takes_the_loops_coverage_range(tmp_path):
    for bad in ("nan", "0.5", "1"):
        line = one_error_line(run_tac("search", "rank", "--anchors", str(tmp_path / "a.json"), "--coverage", bad))  # fmt: skip
        assert f"--coverage {bad}: must be above 0.5 and below 1" in line


# --- data and weights --------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path, demo) -> Path:
    """A challenge checkout with its own (custom, non-official) weights and the demo video."""
    root = tmp_path / "challenge"
    (root / "models").mkdir(parents=True)
    (root / "models" / "posenet.safetensors").write_bytes(b"custom posenet")
    (root / "models" / "segnet.safetensors").write_bytes(b"custom segnet")
    (root / "videos").mkdir()
    shutil.copy(demo.path("0.mkv"), root / "videos" / "0.mkv")
    (root / "public_test_video_names.txt").write_text("0.mkv\n")
    return root


def loop(tmp_path: Path, *args: str, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(tmp_path / "run"), *QUICK, *args],
               capture_output=True, text=True, cwd=REPO, env=env or os.environ.copy(), timeout=300)  # fmt: skip


def config_of(tmp_path: Path) -> dict:
    return next(e.config for e in read_events(tmp_path / "run" / "ledger.jsonl") if e.type == "run_started")  # fmt: skip


def test_a_checkout_means_its_data_and_the_first_line_says_so(tmp_path, checkout):
    proc = loop(tmp_path, "--challenge-dir", str(checkout))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"data: the challenge checkout {checkout}; weights: custom:")
    config = config_of(tmp_path)
    assert config["data"] == "challenge" and config["weights"].startswith("custom:")


def test_the_environment_is_a_default_for_checkout_runs_only(tmp_path, checkout):
    env = os.environ | {"TAC_CHALLENGE_DIR": str(checkout)}
    proc = loop(tmp_path, "--data", "challenge", env=env)  # the help says it defaults to it
    assert proc.returncode == 0, proc.stderr
    assert config_of(tmp_path)["challenge_dir"] == str(checkout)
    shutil.rmtree(tmp_path / "run")
    proc = loop(tmp_path, "--data", "demo", env=env)  # the demo clip: stand-ins, never mixed
    assert proc.returncode == 0, proc.stderr
    assert "weights: stand-in:" in proc.stdout.splitlines()[0]
    config = config_of(tmp_path)
    assert config["data"] == "demo" and config["challenge_dir"] is None
    assert config["weights"].startswith("stand-in:")


def test_the_demo_clip_with_a_checkouts_weights_is_refused_unless_asked_for(tmp_path, checkout):
    line = one_error_line(loop(tmp_path, "--data", "demo", "--challenge-dir", str(checkout)))
    assert "mixed setup" in line and "--allow-mixed" in line
    assert not (tmp_path / "run").exists()
    proc = loop(tmp_path, "--data", "demo", "--challenge-dir", str(checkout), "--allow-mixed")
    assert proc.returncode == 0, proc.stderr
    assert "MIXED" in proc.stdout.splitlines()[0]
    assert config_of(tmp_path)["weights"].startswith("custom:")


def test_the_library_never_reads_the_environment(tmp_path, checkout, monkeypatch):
    from tac.contest.originals import resolve_originals
    from tac.contest.weights import resolve_weights

    monkeypatch.setenv("TAC_CHALLENGE_DIR", str(checkout))
    # what a job on a host with the variable set resolves for a demo spec: stand-ins and the clip
    assert resolve_weights().kind == "stand-in"
    assert resolve_originals().demo
    assert resolve_weights(challenge_dir=checkout).kind == "custom"


LOOP_TOML = """\
data = "demo"
demo_frames = 8
lanes = ["codec"]
explore = 3
max_cycles = 1
generator = "random"
n = 50
seed = 3
max_cost_per_job = 1.0
currency = "EUR"
local_price_per_hour = 36.0
hosts_file = "hosts.toml"
local = true
[space.codec]
codecs = ["hevc", "h264"]
presets = ["ultrafast"]
crfs = [30, 34]
"""


def test_a_config_file_sets_every_option_the_command_line_overrides_and_a_run_replays(tmp_path):
    """--config: a loop.toml's fields are the options' defaults; given options win; a run's
    config.json replays to the same config. (A zero budget ends each loop before any job.)"""
    (tmp_path / "loop.toml").write_text(LOOP_TOML)
    # a host on the other axis: configured, never given a job
    (tmp_path / "hosts.toml").write_text('[[host]]\nname = "gpu"\ndestination = "me@gpu"\nworkdir = "/w"\nrunner_axis = "cuda"\n')  # fmt: skip
    first = run_tac("loop", "--config", str(tmp_path / "loop.toml"), "--run-dir", str(tmp_path / "r1"),
                    "--explore", "2", "--max-total-cost", "0", cwd=REPO)  # fmt: skip
    assert first.returncode == 0, first.stderr
    config = json.loads((tmp_path / "r1" / "config.json").read_text())
    assert config["explore"] == 2 and config["max_total_cost"] == 0  # the command line's
    assert (config["demo_frames"], config["generator"], config["n"], config["seed"]) == (
        8,
        "random",
        50,
        3,
    )
    assert config["max_cost_per_job"] == 1.0 and config["local_price_per_hour"] == 36.0
    assert config["currency"] == "EUR"  # what tac-dash shows money in
    assert config["space"]["codec"]["codecs"] == ["hevc", "h264"] and config["space"]["codec"][
        "crfs"
    ] == [30, 34]
    assert config["hosts_file"] == str(tmp_path / "hosts.toml")  # relative to the file, not the cwd
    replay = run_tac(
        "loop", "--config", str(tmp_path / "r1" / "config.json"), "--run-dir", str(tmp_path / "r2")
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads((tmp_path / "r2" / "config.json").read_text()) == config

    (tmp_path / "bad.toml").write_text("local_price = 1\n")
    line = one_error_line(run_tac("loop", "--config", str(tmp_path / "bad.toml")))
    assert "bad.toml: 'local_price' is not a loop field; write local_price_per_hour" in line
    other = config | {"weights": "official:" + "1" * 64}
    (tmp_path / "other.json").write_text(json.dumps(other))
    line = one_error_line(run_tac("loop", "--config", str(tmp_path / "other.json"), "--run-dir", str(tmp_path / "r3")))  # fmt: skip
    assert "the run scored with official:111" in line and not (tmp_path / "r3").exists()
    line = one_error_line(run_tac("loop", "--resume", str(tmp_path / "r1"), "--config", str(tmp_path / "loop.toml")))  # fmt: skip
    assert "--config cannot change in a resumed run" in line
