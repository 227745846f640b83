"""The masks + renderer lane end to end at tiny scale (issue 16): the renderer's training through
the frozen scorers lowers the exact score; the submission built from its checkpoint scores
exactly what training reported, and its inflate, run where tac cannot be imported, writes the
lane's frames bit for bit; what cannot ship is refused with one line; the lane is searchable
beside the codec lane and runs in a real loop.

One renderer is trained per module (the smoke profile, 16 steps on 8 demo frames) and shared."""

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from tac.contest.originals import demo_originals
from tac.errors import TacError
from tac.lanes import Trained, get_lane
from tests.conftest import inflate_without_tac, run_tac

OPTIONS = {"codec": "av1", "crf": 40, "width": 12}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, scorer):
    demo = demo_originals(frames=8)
    out = tmp_path_factory.mktemp("masks-train")
    lines: list[str] = []
    done = get_lane("masks").train_by_hand("smoke", OPTIONS, demo, scorer, out, max_steps=16, log=lines.append)  # fmt: skip
    return demo, done["checkpoint"], lines


@pytest.mark.slow
def test_training_lowers_the_exact_score_and_records_what_it_scored(trained):
    from tac.lanes.masks import payload

    _, checkpoint, lines = trained
    card = json.loads(checkpoint.with_suffix(".json").read_text())
    exact = [json.loads(x) for x in (checkpoint.parent / "telemetry.jsonl").read_text().splitlines()]  # fmt: skip
    scores = [x["score"] for x in exact if x["event"] == "exact"]
    assert [x["step"] for x in exact if x["event"] == "exact"] == [0, 16]
    assert min(scores) < scores[0] - 10.0, scores
    assert card["best"]["score"] == min(scores) and card["video"]["frames"] == 8
    assert card["train"]["codec"] == "av1" and card["train"]["crf"] == 40 and card["config"]["width"] == 12  # fmt: skip
    blob = (checkpoint.parent / payload.MEMBER).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == card["best"]["payload_sha256"]
    assert any("masks: av1" in x and "labels changed" in x for x in lines)
    # packing is deterministic: the shipped renderer and streams pack to the same bytes
    renderer, masks, poses = payload.load(blob)
    c = payload.unpack(blob)
    assert payload.pack(renderer, c.bits, c.codec, c.mask_stream, c.pose_stream) == blob
    assert c.tto is None  # the smoke profile tries no test-time optimisation
    assert masks.shape == (4, 96, 128) and poses.shape == (4, 6)


@pytest.mark.slow
def test_the_submission_scores_what_training_reported_and_inflates_without_tac(trained, scorer, tmp_path):  # fmt: skip
    from tac.contest.evaluate import evaluate_submission
    from tac.lanes.masks import payload
    from tac.submission.build import build_submission
    from tac.submission.check import check_submission
    from tac.video.raw import read_raw

    demo, checkpoint, _ = trained
    lane = get_lane("masks")
    settings = lane.settings_from_trained(checkpoint)
    assert settings.short() == "masks av1 crf 40 w12 8b p10 λ1"
    subs = [build_submission(lane, settings, demo, tmp_path / f"sub{i}", trained=Trained(checkpoint)) for i in range(2)]  # fmt: skip
    assert len({hashlib.sha256((s / "archive.zip").read_bytes()).hexdigest() for s in subs}) == 1
    card = json.loads(checkpoint.with_suffix(".json").read_text())
    r = evaluate_submission(subs[0], demo, scorer, out_dir=tmp_path / "eval")
    best = card["best"]
    assert (r.score, r.seg, r.pose, r.archive_bytes) == (best["score"], best["seg"], best["pose"], best["archive_bytes"])  # fmt: skip
    errors = [
        f for f in check_submission(subs[0], demo, run_inflate=False) if f.severity == "error"
    ]
    assert errors == []  # the runtime imports only what the official machine has
    assert not (subs[0] / "masksrt" / "lanes" / "masks" / "context.py").exists()
    # the official machine: tac not importable; the frames equal the lane's own inflate
    out = inflate_without_tac(subs[0], demo.names_file, tmp_path)
    got = np.asarray(read_raw(out / "0.raw"))
    want = np.stack(list(lane.inflate([checkpoint.parent / payload.MEMBER], settings)))
    assert got.shape == want.shape == (8, 874, 1164, 3)
    assert np.array_equal(got, want)
    # --inflate-device auto: CUDA where the machine has it; here (no GPU in CI) the same frames
    auto = build_submission(lane, settings.model_copy(update={"inflate_device": "auto"}), demo, tmp_path / "auto", trained=Trained(checkpoint))  # fmt: skip
    assert json.loads((auto / "inflate_config.json").read_text())["device"] == "auto"
    if not torch.cuda.is_available():
        again = evaluate_submission(auto, demo, scorer, out_dir=tmp_path / "eval-auto")
        assert again.score == r.score
        assert "drawing on cpu" in (tmp_path / "eval-auto" / "inflate.log").read_text()


@pytest.mark.slow
def test_what_cannot_ship_is_refused_with_one_line(trained, tmp_path):
    from tac.lanes.masks import payload

    _, checkpoint, _ = trained
    lane = get_lane("masks")
    settings = lane.settings_from_trained(checkpoint)
    copy = tmp_path / "ckpt"
    shutil.copytree(checkpoint.parent, copy)
    ckpt = copy / checkpoint.name
    # a payload that is not the one the card scored
    (copy / payload.MEMBER).write_bytes((copy / payload.MEMBER).read_bytes() + b"\0")
    with pytest.raises(TacError, match="not the payload"):
        lane.payload(settings, Trained(ckpt))
    shutil.copy(checkpoint.parent / payload.MEMBER, copy / payload.MEMBER)
    # masks coded with the context coder: the official machine lacks its range coder
    card = json.loads(ckpt.with_suffix(".json").read_text())
    card["train"]["codec"] = "context"
    ckpt.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(TacError, match="official machine cannot decode"):
        lane.payload(settings, Trained(ckpt))
    with pytest.raises(TacError, match="not a masks checkpoint card"):
        card["lane"] = "nerv"
        ckpt.with_suffix(".json").write_text(json.dumps(card))
        lane.settings_from_trained(ckpt)


@pytest.mark.slow
def test_a_warm_start_begins_where_its_checkpoint_ended(trained, scorer, tmp_path):
    demo, checkpoint, _ = trained
    lane = get_lane("masks")
    lane.train_by_hand("smoke", OPTIONS, demo, scorer, tmp_path / "warm", max_steps=1, init_from=checkpoint, log=lambda m: None)  # fmt: skip
    card = json.loads(checkpoint.with_suffix(".json").read_text())
    [first, *_] = [json.loads(x) for x in (tmp_path / "warm" / "telemetry.jsonl").read_text().splitlines()]  # fmt: skip
    assert first["event"] == "exact" and first["step"] == 0
    assert first["score"] == card["best"]["score"]  # the same renderer and streams: the same bytes
    with pytest.raises(TacError, match="a warm start keeps the shape"):
        lane.train_by_hand("smoke", {**OPTIONS, "width": 8}, demo, scorer, tmp_path / "other", max_steps=1, init_from=checkpoint, log=lambda m: None)  # fmt: skip


def test_settings_the_lane_cannot_ship_are_one_line_errors():
    from tac.lanes.masks.space import MasksParams

    lane = get_lane("masks")
    for params, message in [
        (MasksParams(codec="context"), "constriction"),
        (MasksParams(codec="png"), "no mask codec 'png'"),
        (MasksParams(codec="hevc", crf=60), "hevc crf is 0–51"),
        (MasksParams(codec="brotli", crf=30), "brotli is lossless"),
        (MasksParams(bits=5), "bits"),
    ]:
        with pytest.raises(TacError, match=message) as err:
            lane.prepare(params)
        assert "\n" not in str(err.value) and str(err.value).startswith(params.id())
    # `tac lossy train --lane masks --option codec=context`: refused before any training
    with pytest.raises(TacError, match="^--option codec: the context coder"):
        lane.train_by_hand("smoke", {"codec": "context"}, None, None, None)


def test_the_lane_is_searchable_beside_the_codec_lane():
    from tac.lanes.masks.profiles import renderer_macs_per_pair, renderer_parameters
    from tac.lanes.masks.renderer import Renderer, RendererConfig
    from tac.search import generate

    table = generate("grid", lanes=("codec", "masks"), options={"masks": {"codecs": ["av1", "hevc", "brotli"], "crfs": [30, 60]}})  # fmt: skip
    ids = [table.id(i) for i in range(len(table))]
    masks = sorted(i for i in ids if i.startswith("masks-"))
    # crf only for the lossy codecs; brotli once per width
    assert len(masks) == (2 + 2 + 1) * 2
    assert "masks-brotli-q---w016-b8-p10-r001.000-n002000" in masks
    block = get_lane("masks").generate("grid", {"codecs": ["av1", "hevc", "brotli"], "crfs": [30, 60]})  # fmt: skip
    bad = block.invalid()
    hevc60 = np.array(["hevc-q60" in block.id(i) for i in range(len(block))])
    assert np.array_equal(bad, hevc60)  # hevc's crf stops at 51
    f = block.features()
    assert list(np.unique(f.group)) == [0, 1, 2] and f.names[1] == "renderer params"
    assert np.allclose(np.exp(f.x[:, 1]), block.renderer_parameters())
    # the parameter count the byte law uses is the network's own
    for width in (12, 24):
        assert renderer_parameters(width) == Renderer(RendererConfig(width=width)).parameter_count()
    # costs: a GPU trains in a fraction of the CPU's time; a wider renderer inflates slower
    assert (block.work_s_on(1200, "cuda") < block.work_s_on(1200, "cpu") / 10).all()
    wide, narrow = block.width == 24, block.width == 16
    assert block.inflate_s(1200)[wide].min() > block.inflate_s(1200)[narrow].max()
    assert renderer_macs_per_pair(24) > renderer_macs_per_pair(16)
    # a params record survives the table's round trip
    for i in range(len(block)):
        assert block.take(np.array([i])).params(0) == block.params(i)


@pytest.mark.slow
def test_a_loop_ranks_and_runs_the_lane(tmp_path):
    from tac.control.ledger import fold, read_events

    run = tmp_path / "run"
    proc = run_tac(
        "loop", "--run-dir", str(run), "--lanes", "masks", "--demo-frames", "8",
        "--max-cycles", "1", "--explore", "1", "--local-concurrency", "1",
        "--option", "masks.steps=2", "--option", "masks.widths=8", "--option", "masks.crfs=50", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = read_events(run / "ledger.jsonl")
    [anchor] = fold(events).anchors
    assert anchor.lane == "masks" and anchor.id.startswith("masks-av1-q50-w008")
    assert anchor.score > 0 and anchor.archive_bytes > 0
    [log] = (run / "work" / "jobs").glob("*-masks-*/log.txt")
    assert "(smoke, 2 steps) on cpu" in log.read_text()


@pytest.mark.slow
def test_test_time_optimisation_is_measured_and_ships_only_when_it_lowers_the_exact_score(trained, scorer, tmp_path):  # fmt: skip
    from tac.contest.evaluate import evaluate_submission
    from tac.lanes.chain import Evaluation, evaluate_drawn
    from tac.lanes.masks import payload
    from tac.lanes.masks.profiles import MasksTrainConfig
    from tac.lanes.masks.render import draw_frames
    from tac.lanes.masks.tto_fit import fit_tto, tto_stage
    from tac.submission.build import build_submission
    from tac.video.raw import read_raw

    demo, checkpoint, _ = trained
    card = json.loads(checkpoint.with_suffix(".json").read_text())
    blob, best = (checkpoint.parent / payload.MEMBER).read_bytes(), Evaluation(**card["best"])
    tc = MasksTrainConfig(**{**card["train"], "tto_steps": 4, "probe_steps": 30})

    def score(b: bytes) -> Evaluation:
        shipped, m, p = payload.load(b)
        return evaluate_drawn(draw_frames(shipped, m, p), {payload.MEMBER: b}, demo.path("0.mkv"), demo.total_bytes, scorer)  # fmt: skip

    shipped, ev, decision = tto_stage(blob, best, tc, scorer, score, log=lambda m: None)
    # measured either way: both exact scores recorded; what ships is the lower one
    assert decision["before"] == best.score and decision["after"] != best.score
    assert decision["kept"] == (decision["after"] < best.score)
    assert ev.score == min(best.score, decision["after"]) and (shipped != blob) == decision["kept"]
    assert 0.0 < decision["probe_agreement"] <= 1.0 and decision["probe_bytes"] > 0
    # a payload with the TTO section ships, refines where tac cannot be imported, and scores what
    # the stage measured: a copy of the checkpoint whose card took the TTO payload
    section, _ = fit_tto(blob, tc, scorer)  # seeded: the section the stage measured
    with_tto = blob + section
    assert payload.unpack(with_tto).tto.steps == 4 and (with_tto == shipped) == decision["kept"]
    copy = tmp_path / "ckpt"
    shutil.copytree(checkpoint.parent, copy)
    (copy / payload.MEMBER).write_bytes(with_tto)
    card["best"] = {**card["best"], "payload_sha256": hashlib.sha256(with_tto).hexdigest()}
    (copy / checkpoint.with_suffix(".json").name).write_text(json.dumps(card))
    lane = get_lane("masks")
    settings = lane.settings_from_trained(copy / checkpoint.name)
    sub = build_submission(lane, settings, demo, tmp_path / "sub", trained=Trained(copy / checkpoint.name))  # fmt: skip
    r = evaluate_submission(sub, demo, scorer, out_dir=tmp_path / "eval")
    assert r.score == decision["after"] and r.archive_bytes > best.archive_bytes
    got = np.asarray(read_raw(inflate_without_tac(sub, demo.names_file, tmp_path) / "0.raw"))
    want = np.stack(list(lane.inflate([copy / payload.MEMBER], settings)))
    assert np.array_equal(got, want)
    plain = np.stack(list(lane.inflate([checkpoint.parent / payload.MEMBER], settings)))
    assert not np.array_equal(want, plain)  # the refinement changed the frames
