"""The nerv lane end to end at tiny scale (issue 15): training through the frozen scorers lowers
the exact score; the submission built from the checkpoint scores exactly what training reported;
its inflate, run where tac cannot be imported, writes training's quantized frames bit for bit;
archives are byte-reproducible; and the lane is searchable beside the codec lane."""

import hashlib
import json

import numpy as np
import pytest
import torch

from tac.contest.originals import demo_originals
from tac.lanes import get_lane
from tac.lanes.nerv.profiles import NERV_PROFILES, NervSettings
from tests.conftest import inflate_without_tac, run_tac

SETTINGS = NervSettings(latent_dim=8, width=16, bits=8, rate_weight=1.0, steps=24)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, scorer):
    from tac.lanes.nerv.train import train

    demo = demo_originals(frames=8)
    config, tc = SETTINGS.training(4, NERV_PROFILES.get("smoke"), eval_every=12)
    out = tmp_path_factory.mktemp("nerv-train")
    return demo, train(config, tc, demo, scorer, out, log=lambda m: None)


@pytest.mark.slow
def test_training_lowers_the_exact_score_and_writes_telemetry(trained):
    _, result = trained
    first, best = result.history[0], result.best
    assert best.score < first.score - 1.0, [e.score for e in result.history]
    assert best.distortion < first.distortion
    lines = [json.loads(x) for x in (result.checkpoint.parent / "telemetry.jsonl").read_text().splitlines()]  # fmt: skip
    assert {x["event"] for x in lines} == {"step", "exact", "polish:offsets", "polish:latents"}
    assert [x["step"] for x in lines if x["event"] == "exact"] == [0, 12, 24]
    card = json.loads(result.checkpoint.with_suffix(".json").read_text())
    assert card["best"]["score"] == best.score and card["video"]["frames"] == 8
    # refinement after training: every stage judged by the round trip, recorded on the card
    assert [d["stage"] for d in card["polished"]] == ["offsets", "latents"]
    trained_best = min(e.score for e in result.history)
    assert best.score <= trained_best
    assert best.score == min([trained_best] + [d["after"] for d in card["polished"] if d["kept"]])


@pytest.mark.slow
def test_polish_keeps_a_stage_only_when_the_exact_score_drops(trained, scorer):
    from tac.lanes.nerv.checkpoint import load_checkpoint
    from tac.lanes.nerv.polish import polish
    from tac.lanes.nerv.train import Objective, RoundTrip, video_pairs

    demo, result = trained
    _, pairs = video_pairs(demo)
    objective = Objective.of(pairs, scorer, 8, 1.0, demo.total_bytes)
    round_trip = RoundTrip(
        demo.path(demo.video_names[0]), demo.total_bytes, scorer, 8, lambda e: None
    )
    rep, _ = load_checkpoint(result.checkpoint)
    with torch.no_grad():  # a brightness bias the offsets stage exists to remove
        for head in rep.decoder.heads:
            head.bias += 0.5
    damaged = round_trip(rep, 0)
    fixed, best, decisions = polish(rep, damaged, objective, round_trip, steps=6, lr=0.1, batch=2, log=lambda m: None)  # fmt: skip
    assert decisions[0]["stage"] == "offsets" and decisions[0]["kept"]
    assert best.score < damaged.score - 1.0 and fixed is not rep
    # a step size that wrecks the representation: nothing is kept, nothing changes
    same, unchanged, decisions = polish(rep, damaged, objective, round_trip, steps=2, lr=50.0, batch=2, log=lambda m: None)  # fmt: skip
    assert [d["kept"] for d in decisions] == [False, False]
    assert same is rep and unchanged is damaged


@pytest.mark.slow
def test_the_submission_scores_what_training_reported_and_inflates_without_tac(trained, scorer, tmp_path):  # fmt: skip
    from tac.contest.evaluate import evaluate_submission
    from tac.lanes import Trained
    from tac.lanes.nerv import packing, render
    from tac.lanes.nerv.checkpoint import load_checkpoint
    from tac.submission.build import build_submission
    from tac.video.raw import read_raw

    demo, result = trained
    lane = get_lane("nerv")
    settings = lane.settings_from_trained(result.checkpoint)
    subs = [
        build_submission(
            lane, settings, demo, tmp_path / f"sub{i}", trained=Trained(result.checkpoint)
        )  # fmt: skip
        for i in range(2)
    ]
    digests = {hashlib.sha256((s / "archive.zip").read_bytes()).hexdigest() for s in subs}
    assert len(digests) == 1  # byte-reproducible
    r = evaluate_submission(subs[0], demo, scorer, out_dir=tmp_path / "eval")
    assert (r.score, r.seg, r.pose, r.archive_bytes) == (result.best.score, result.best.seg, result.best.pose, result.best.archive_bytes)  # fmt: skip
    # the official machine: tac not importable; frames equal training's quantized draw
    out = inflate_without_tac(subs[0], demo.names_file, tmp_path)
    got = read_raw(out / "0.raw")
    rep, card = load_checkpoint(result.checkpoint)
    state, latents = packing.quantized_state(rep.decoder, rep.latents.data, card["train"]["bits"])
    rep.decoder.load_state_dict(state)
    want = torch.stack(list(render.draw_frames(rep.decoder, latents))).numpy()
    assert got.shape == want.shape == (8, 874, 1164, 3)
    assert np.array_equal(np.asarray(got), want)


@pytest.mark.slow
def test_the_cli_trains_and_builds_a_nerv_submission(tmp_path):
    demo = demo_originals(frames=8)  # the clip `--demo-frames 8` trains on, in this session's cache
    originals = str(demo.path(demo.video_names[0]).parent)
    proc = run_tac("lossy", "train", "--lane", "nerv", "--profile", "tiny", "--data", "demo", "--demo-frames", "8", "--out", str(tmp_path / "t"), "--max-steps", "2", "--option", "width=8", "--option", "latent_dim=4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exact score" in proc.stdout and "nerv z4 w8" in proc.stdout
    ckpt = tmp_path / "t" / "nerv.safetensors"
    assert json.loads(ckpt.with_suffix(".json").read_text())["video"]["frames"] == 8
    proc = run_tac("submission", "build", "--lane", "nerv", "--checkpoint", str(ckpt), "--out", str(tmp_path / "s"), "--originals", originals)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    check = run_tac("submission", "check", str(tmp_path / "s"), "--originals", originals)
    assert check.returncode == 0 and "0 error(s)" in check.stdout + check.stderr, check.stdout[-2000:]  # fmt: skip
    # a warm start must match the checkpoint's shape: one line, non-zero exit
    proc = run_tac("lossy", "train", "--lane", "nerv", "--profile", "tiny", "--data", "demo", "--demo-frames", "8", "--out", str(tmp_path / "u"), "--max-steps", "1", "--init-from", str(ckpt))  # fmt: skip
    assert proc.returncode != 0 and "representation, not" in proc.stderr
    proc = run_tac("lossy", "train", "--lane", "nerv", "--option", "bits=5", "--out", str(tmp_path / "v"))  # fmt: skip
    assert proc.returncode != 0 and "bits" in proc.stderr


def test_the_lane_is_searchable_beside_the_codec_lane():
    from tac.search import generate

    table = generate("grid", lanes=("codec", "nerv"), options={"nerv": {"widths": [24, 36], "latent_dims": [16]}})  # fmt: skip
    ids = [table.id(i) for i in range(len(table))]
    nerv = [i for i in ids if i.startswith("nerv-")]
    assert nerv == sorted(nerv) and len(nerv) == 2
    lane = get_lane("nerv")
    block = lane.generate("grid", {"widths": [24, 36], "latent_dims": [16]})
    # a wider decoder costs more to inflate; the contest's 600 pairs stay within the 30 minutes
    s = block.inflate_s(1200)
    assert s[1] > s[0] and s.max() < 1800
    assert not block.invalid().any()
    p = block.params(1)
    assert lane.table([p]).params(0) == p and lane.prepare(p).width == 36


def test_costs_follow_the_device_and_bytes_the_parameter_count():
    from tac.search import CostModel
    from tac.search.space import CandidateTable

    lane = get_lane("nerv")
    block = lane.generate("grid", {"widths": [24, 48], "latent_dims": [16], "bits": [4, 8]})
    # a GPU host trains the same setting in a fraction of the CPU's time; the codec lane's cost
    # does not depend on where its jobs run
    cpu, cuda = block.work_s_on(1200, "cpu"), block.work_s_on(1200, "cuda")
    assert (cuda < cpu / 10).all()
    table = CandidateTable([block, get_lane("codec").generate("grid", {"codecs": ["hevc"]})])
    on = {d: CostModel(price_per_hour=1.0, device=d).job_cost(table) for d in ("cpu", "cuda")}
    nerv = np.arange(len(table)) < len(block)
    assert (on["cuda"][nerv] < on["cpu"][nerv]).all()
    assert np.array_equal(on["cuda"][~nerv], on["cpu"][~nerv])
    # the byte law's size feature is the decoder's parameter count; the prior follows it and bits
    f = block.features()
    assert f.names[1] == "decoder params"
    assert np.allclose(np.exp(f.x[:, 1]), block.decoder_parameters())
    prior = block.prior_bytes(1200)
    wide8 = (block.width == 48) & (block.bits == 8)
    assert prior[wide8] > prior[(block.width == 24) & (block.bits == 8)]
    assert prior[wide8] > prior[(block.width == 48) & (block.bits == 4)]


@pytest.mark.slow
def test_a_loop_ranks_and_runs_both_lanes(tmp_path):
    from tac.control.ledger import fold, read_events

    run = tmp_path / "run"
    proc = run_tac(
        "loop", "--run-dir", str(run), "--lanes", "codec,nerv", "--demo-frames", "8",
        "--presets", "ultrafast", "--max-cycles", "1", "--explore", "2", "--local-concurrency", "2",
        "--train-profile", "nerv=tiny", "--option", "nerv.steps=4", "--option", "nerv.widths=8",
        "--option", "nerv.latent_dims=4", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = read_events(run / "ledger.jsonl")
    state = fold(events)
    lanes = {a.lane: a for a in state.anchors}
    assert set(lanes) == {"codec", "nerv"}, proc.stderr[-2000:]
    specs = {e.spec.candidate.lane: e.spec for e in events if e.type == "dispatched"}
    assert specs["nerv"].train_profile == "tiny" and specs["nerv"].candidate.params.steps == 4
    nerv = lanes["nerv"]
    assert nerv.score > 0 and nerv.archive_bytes > 0 and nerv.id.startswith("nerv-z004-w008")
    [log] = (run / "work" / "jobs").glob("*-nerv-*/log.txt")
    assert "(tiny, 4 steps) on cpu" in log.read_text()


def test_a_job_trains_where_its_host_says_and_refuses_a_missing_gpu():
    from tac.errors import TacError
    from tac.jobs.run import train_device

    assert train_device("cpu") == "cpu"
    assert train_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TacError, match='set device = "cpu" for this host in hosts.toml'):
            train_device("cuda")
