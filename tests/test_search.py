"""tac.search: records, predictor quality and refusals, gates, preflight, CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tac.errors import TacError
from tac.lanes.codec import CodecSearchParams
from tac.lanes.codec.space import FILTER_PARAMS, FILTERS, CodecTable
from tac.records import (
    Anchor,
    Candidate,
    JobLimits,
    JobSpec,
    Refusal,
    ScoreBand,
    load_records,
    save_records,
)
from tac.search import Axis, CandidateTable, Caps, MetaLagrangianSearch, generate, preflight, rank
from tac.search.band import score_band
from tac.search.gates import invalid_params
from tac.search.refusals import CODE
from tac.search.synthetic import SyntheticWorld, sample_params
from tests.conftest import run_tac

WORLD = SyntheticWorld()


def hevc(crf, scale=0.5, preset="medium", **kw):
    return CodecSearchParams(codec="hevc", crf=crf, preset=preset, scale=scale, **kw)


@pytest.fixture(scope="module")
def anchors():
    return WORLD.anchors(sample_params(40, seed=1, filters=(None, "dilated"))) + [
        WORLD.lossless_anchor()
    ]


# --- records --------------------------------------------------------------------------------


def test_search_records_round_trip(tmp_path, anchors):
    band = ScoreBand(lo=1.0, mid=1.2, hi=1.5, coverage=0.9, n_calibration=30, pose=0.01, seg=0.002, rate=0.03)  # fmt: skip
    refusal = Refusal(code="extrapolation", gate="calibration", message="crf beyond 0..6")
    cands = [
        Candidate(
            id="a",
            params=hevc(30),
            runner_axis="cpu",
            weights="official",
            band=band,
            ready=True,
            rank_key=1.3,
        ),  # fmt: skip
        Candidate(
            id="b", params=hevc(40), runner_axis="cpu", weights="official", refusal=refusal
        ),  # fmt: skip
    ]
    save_records(cands, tmp_path / "c.json")
    assert load_records(Candidate, tmp_path / "c.json") == cands
    save_records(anchors, tmp_path / "a.json")
    assert load_records(Anchor, tmp_path / "a.json") == anchors
    data = json.loads((tmp_path / "c.json").read_text())
    data[1]["refusal"]["code"] = "made_up"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TacError, match=r"item 1: invalid Candidate: refusal.code"):
        load_records(Candidate, tmp_path / "bad.json")
    data[1]["refusal"]["code"], data[1]["surprise"] = "extrapolation", 1
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TacError, match="surprise"):
        load_records(Candidate, tmp_path / "bad.json")


def test_anchor_only_from_authoritative_results():
    [result] = WORLD.results([hevc(30)])
    assert Anchor.from_result(result, hevc(30)).kind == "lossy"
    subset = result.model_copy(update={"estimate": True, "n_samples": 10})
    with pytest.raises(TacError, match="estimate"):
        Anchor.from_result(subset, hevc(30))


def test_ids_sort_like_the_columns():
    t = generate("random", n=500, seed=3, codecs=("hevc", "av1", "h264"))
    ids = [t.id(i) for i in range(len(t))]
    assert [ids[i] for i in t.id_order()] == sorted(ids)


def test_filter_tables_match_the_postfilter_registry():
    from tac.postfilter import build_postfilter, list_postfilters

    assert sorted(f for f in FILTERS if f) == list_postfilters()
    t = CodecTable.from_params([hevc(30, filter=f, hidden=h) for f in FILTER_PARAMS for h in (5, 24)])  # fmt: skip
    counts = t.filter_params()
    for i in range(len(t)):
        p = t.params(i)
        assert counts[i] == build_postfilter(p.filter, hidden=p.hidden).param_count(), p


def test_search_imports_no_torch_or_codecs():
    code = "import sys, tac.search; print(sorted(m for m in ('torch', 'av', 'textual') if m in sys.modules))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- predictor ------------------------------------------------------------------------------


def test_band_coverage_matches_the_stated_coverage_on_held_out_points():
    train = WORLD.anchors(sample_params(200, seed=11)) + [WORLD.lossless_anchor()]
    held = sample_params(3000, seed=12)
    truth = WORLD.results(held, rng_seed=99)
    t = CandidateTable.from_params(held)
    for coverage in (0.8, 0.9):
        bands = score_band(train, t, coverage=coverage)
        ok = ~np.isnan(bands.lo)
        assert ok.mean() > 0.95  # held-out points from the anchors' own range are predicted
        scores = np.array([r.score for r in truth])[ok]
        inside = (bands.lo[ok] <= scores) & (scores <= bands.hi[ok])
        assert abs(inside.mean() - coverage) < 0.04, (coverage, inside.mean())
        # the width is earned from residuals, not a constant: noisier worlds give wider bands
    noisy = SyntheticWorld(noise=0.25).anchors(sample_params(200, seed=11))
    assert score_band(noisy, t).calibration.q_score > 2 * bands.calibration.q_score


def test_refuses_with_fewer_anchors_than_the_minimum(anchors):
    t = CandidateTable.from_params([hevc(30)])
    bands = score_band(anchors[:5], t, min_anchors=8)
    assert bands.code[0] == CODE["insufficient_anchors"] and np.isnan(bands.lo[0])
    # enough anchors for the minimum but not for a 99 % conformal rank
    assert score_band(anchors[:20], t, coverage=0.99, min_anchors=8).code[0] == CODE["insufficient_anchors"]  # fmt: skip


def test_refuses_outside_the_calibrated_range(anchors):
    inside, beyond_crf, beyond_scale = hevc(30), hevc(50), hevc(30, scale=1.0)
    bands = score_band(anchors, CandidateTable.from_params([inside, beyond_crf, beyond_scale]))
    assert bands.code[0] == 0 and np.isfinite(bands.mid[0])
    assert list(bands.code[1:]) == [CODE["extrapolation"]] * 2


def test_cautionary_case_near_lossless_anchors_refuse_heavy_quantization():
    """The seed's mistake: calibrated on anchors near the lossless floor, it predicted a setting
    with quantization error far beyond every anchor. Now that is refused, not predicted."""
    near = [hevc(c, scale=s) for c in range(0, 7) for s in (0.9, 1.0)]
    calib = WORLD.anchors(near) + [WORLD.lossless_anchor()]
    r = rank(calib, CandidateTable.from_params([hevc(40, scale=0.95), hevc(3, scale=0.95)]))
    far, close = (r.candidate(i) for i in range(2))
    assert far.refusal.code == "extrapolation" and far.band is None and not far.ready
    assert "crf beyond the hevc anchors" in far.refusal.message
    assert close.ready and close.band is not None


def test_non_monotone_fit_is_refused():
    backwards = SyntheticWorld(pose_law=(-7.5, -7.0, -1.4, 0.1))  # pose falling as crf rises
    calib = backwards.anchors(sample_params(30, seed=2))
    bands = score_band(calib, CandidateTable.from_params([hevc(30)]))
    assert bands.code[0] == CODE["non_monotone_fit"]
    assert "pose falls as crf rises" in bands.prediction.detail[(CODE["non_monotone_fit"], 2)]


def test_lossy_better_than_lossless_is_incoherent():
    floor = WORLD.lossless_anchor().model_copy(update={"pose": 0.5, "seg": 0.5})
    calib = WORLD.anchors(sample_params(30, seed=4)) + [floor]
    # lossy anchors measured far better than the lossless floor: the set contradicts itself
    bands = score_band(calib, CandidateTable.from_params([hevc(30)]))
    assert bands.code[0] == CODE["lossy_better_than_lossless_incoherent"]
    # a pose floor that only the high-quality prediction crosses: only that one is refused
    floor = WORLD.lossless_anchor().model_copy(update={"pose": 0.03, "seg": 1e-4})
    calib = WORLD.anchors(sample_params(30, seed=4, crf=(18, 44))) + [floor]
    bands = score_band(calib, CandidateTable.from_params([hevc(19, scale=0.85), hevc(40, scale=0.4)]))  # fmt: skip
    assert list(bands.code) == [CODE["lossy_better_than_lossless_incoherent"], 0]


def test_missing_distortion_model(anchors):
    t = CandidateTable.from_params([
        hevc(30, filter="psd", hidden=16), hevc(30, filter="dilated", hidden=16, bits=4),
        CodecSearchParams(codec="av1", crf=40, preset="8", scale=0.5), hevc(30, filter="dilated", hidden=16),
    ])  # fmt: skip
    codes = score_band(anchors, t).code
    assert list(codes) == [CODE["missing_distortion_model"]] * 3 + [0]


# --- gates, ranking, Lagrangian ---------------------------------------------------------------


def test_params_gate_knows_each_encoder():
    t = CandidateTable.from_params([
        hevc(30), hevc(52), CodecSearchParams(codec="av1", crf=0, preset="8", scale=0.5),
        hevc(30, preset="turbo"), hevc(30, scale=0.01), hevc(30, filter="dilated", hidden=0),
        hevc(30, filter="dilated", hidden=8, bits=3),
    ])  # fmt: skip
    assert list(invalid_params(t)) == [False] + [True] * 6


def test_caps_refuse_at_the_last_gate(anchors):
    t = CandidateTable.from_params([hevc(26, scale=0.7), hevc(40, scale=0.4), hevc(30, filter="dilated", hidden=16)])  # fmt: skip
    free = rank(anchors, t)
    assert free.eligible == 3
    nbytes = free.values["bytes"]
    capped = rank(anchors, t, search=MetaLagrangianSearch(Caps(bytes=float(np.median(nbytes)), inflate_s=60)))  # fmt: skip
    codes = [capped.candidate(i).refusal and capped.candidate(i).refusal.code for i in range(3)]
    assert codes == ["over_bytes_cap", None, "over_inflate_time_cap"]
    assert [g for g, _, refused in capped.ladder.summary() if refused] == ["caps"]


def test_axes_never_mix(anchors):
    other = [a.model_copy(update={"weights": "official"}) for a in anchors]
    t = CandidateTable.from_params([hevc(30)])
    with pytest.raises(TacError, match="span 2 axes"):
        rank(anchors + other, t)
    r = rank(anchors + other, t, axis=Axis("cpu", "official"))
    assert r.axis.weights == "official" and r.bands.calibration.n == 40
    mismatch = rank(anchors, t, candidates_axis=Axis("cuda", WORLD.weights))
    assert mismatch.candidate(0).refusal.code == "axis_mismatch"


def test_multipliers_move_by_dual_ascent(anchors):
    s = MetaLagrangianSearch(Caps(bytes=100_000, inflate_s=600), step=2.0)
    s.update({"bytes": [150_000, 130_000]})  # violated by 40 % on average
    assert s.multipliers["bytes"] == pytest.approx(0.8)
    s.update({"bytes": [50_000]})  # half the cap: slack
    assert s.multipliers["bytes"] == pytest.approx(0.0)
    # a larger multiplier pushes byte-heavy candidates down the order
    t = generate("grid", codecs=("hevc",), filters=((None, 0, 0),))
    s0 = MetaLagrangianSearch(Caps(bytes=2e6))
    s1 = MetaLagrangianSearch(Caps(bytes=2e6), multipliers={"bytes": 50.0, "inflate_s": 0.0, "cost": 0.0})  # fmt: skip
    top0, top1 = (rank(anchors, t, search=s).order[:5] for s in (s0, s1))
    nbytes = rank(anchors, t).values["bytes"]
    assert nbytes[top1].mean() < nbytes[top0].mean()


def test_generators_are_deterministic_and_valid(anchors):
    for name in ("grid", "random", "refine"):
        a = generate(name, n=300, seed=5, anchors=anchors)
        b = generate(name, n=300, seed=5, anchors=anchors)
        [ca], [cb] = a.blocks, b.blocks  # one lane: one block of codec columns
        assert len(a) > 0 and all(np.array_equal(getattr(ca, c), getattr(cb, c)) for c in ("codec", "crf", "scale_milli", "preset", "filter"))  # fmt: skip
        assert not invalid_params(a).any(), name
    with pytest.raises(TacError, match="unknown generator"):
        generate("bayes")
    # the Latin hypercube covers every tenth of the crf range with 10 points
    [t] = generate("random", n=10, seed=1, codecs=("hevc",)).blocks
    assert len(np.unique(np.floor(t.crf / 52 * 10))) == 10


def test_random_samples_only_the_loops_space():
    """`tac loop --generator random --crfs 30,34 --presets ultrafast,fast --scales 0.4,0.6`
    sampled every crf, preset and scale of the codec: the space named is the space searched."""
    space = {"codec": {"codecs": ["hevc"], "crfs": [30, 34], "presets": ["ultrafast", "fast"], "scales": [0.4, 0.6]}}  # fmt: skip
    [t] = generate("random", options=space, n=200, seed=0).blocks
    settings = [t.params(i) for i in range(len(t))]
    assert {p.crf for p in settings} == {30, 34} and {p.preset for p in settings} == {"ultrafast", "fast"}  # fmt: skip
    assert all(0.4 <= p.scale <= 0.6 for p in settings)
    assert len({p.scale for p in settings}) > 50  # still a hypercube over the range
    assert not invalid_params(generate("random", options=space, n=200, seed=0)).any()


@pytest.mark.parametrize("generator", ["grid", "random"])
def test_codecs_without_a_given_preset_search_their_middle_one(generator):
    """`tac loop --codecs hevc,av1` (presets: medium, which av1 lacks) stopped on
    `tuple.index(x): x not in tuple`: each codec searches the given presets it has."""
    space = {"codec": {"codecs": ["hevc", "av1"], "presets": ["medium"], "crfs": [30]}}
    [t] = generate(generator, options=space, n=100, seed=0).blocks
    presets = {(p.codec, p.preset) for p in (t.params(i) for i in range(len(t)))}
    assert presets == {("hevc", "medium"), ("av1", "7")}


# --- preflight -------------------------------------------------------------------------------


def test_preflight_checks_every_invariant(anchors, tmp_path):
    r = rank(anchors, CandidateTable.from_params([hevc(30), hevc(50)]))
    ready, refused = r.candidate(0), r.candidate(1)

    def spec(**kw):
        base = dict(
            job_id="j1", candidate=ready, data="demo", weights=WORLD.weights, runner_axis="cpu",
            limits=JobLimits(timeout_s=600, max_cost=1.0), out_dir=str(tmp_path / "job"),
        )  # fmt: skip
        return JobSpec(**{**base, **kw})

    failing = lambda s: {c.name for c in preflight(s) if not c.ok}  # noqa: E731
    # synthetic weights are not a scorer a job can run
    assert failing(spec()) == {"weights"}
    good = spec(weights="stand-in:0:" + "a" * 16, candidate=ready.model_copy(update={"weights": "stand-in:0:" + "a" * 16}))  # fmt: skip
    assert failing(good) == set()
    assert failing(good.model_copy(update={"candidate": refused.model_copy(update={"weights": good.weights})})) == {"ready"}  # fmt: skip
    assert "axis" in failing(good.model_copy(update={"runner_axis": "cuda"}))
    assert "data" in failing(good.model_copy(update={"data": "challenge", "challenge_dir": str(tmp_path)}))  # fmt: skip
    assert "cost" in failing(good.model_copy(update={"predicted_cost": 5.0}))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    assert "out_dir" in failing(good.model_copy(update={"out_dir": str(tmp_path / "busy")}))
    assert "out_dir" in failing(good.model_copy(update={"out_dir": "relative/dir"}))
    msgs = [c.message for c in preflight(good.model_copy(update={"runner_axis": "cuda"})) if not c.ok]  # fmt: skip
    assert msgs == ["the job runs on axis cuda but the candidate was ranked on cpu"]


# --- CLI -------------------------------------------------------------------------------------


def test_cli_rank_prints_bands_and_refusals(tmp_path, anchors):
    save_records(anchors, tmp_path / "a.json")
    proc = run_tac("search", "rank", "--anchors", str(tmp_path / "a.json"), "--generator", "grid", "--top", "5")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ESTIMATES" in proc.stdout and "ready" in proc.stdout
    assert "gate calibration" in proc.stdout and "missing_distortion_model" in proc.stdout
    proc = run_tac("search", "rank", "--anchors", str(tmp_path / "a.json"), "--generator", "random", "--n", "50", "--top", "50", "--json")  # fmt: skip
    rows = [Candidate.model_validate(x) for x in json.loads(proc.stdout)]
    seen_refused = False
    for c in rows:  # eligible first, then refused
        seen_refused |= not c.ready
        assert not (seen_refused and c.ready)
    save_records(rows, tmp_path / "c.json")
    again = run_tac("search", "rank", "--anchors", str(tmp_path / "a.json"), "--candidates", str(tmp_path / "c.json"), "--json", "--top", "50")  # fmt: skip
    assert [c["id"] for c in json.loads(again.stdout)] == [c.id for c in rows]


def test_cli_rank_and_anchor_errors_are_one_line(tmp_path):
    (tmp_path / "bad.json").write_text("[{]")
    proc = run_tac("search", "rank", "--anchors", str(tmp_path / "bad.json"))
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "bad.json" in proc.stderr
    [result] = WORLD.results([hevc(30)])
    from tac.records import save_record

    save_record(result.model_copy(update={"estimate": True, "n_samples": 3}), tmp_path / "r.json")
    proc = run_tac("search", "anchor", str(tmp_path / "r.json"), "--anchors", str(tmp_path / "a.json"), "--lossless")  # fmt: skip
    assert proc.returncode == 2 and "estimate" in proc.stderr and not (tmp_path / "a.json").exists()


def test_cli_anchor_reads_the_submission_manifest(tmp_path):
    from tac.records import save_record

    [result] = WORLD.results([hevc(30, scale=0.45, filter="dilated", hidden=16)])
    save_record(result, tmp_path / "r.json")
    sub = tmp_path / "sub"
    sub.mkdir()
    manifest = {"lane": "codec", "params": {"codec": "hevc", "crf": 30, "preset": "medium", "scale": 0.45},
                "filter": {"arch": {"name": "dilated", "hidden": 16}, "bits": 8}}  # fmt: skip
    (sub / "tac_submission.json").write_text(json.dumps(manifest))
    args = ("search", "anchor", str(tmp_path / "r.json"), "--anchors", str(tmp_path / "a.json"), "--submission", str(sub))  # fmt: skip
    assert run_tac(*args).returncode == 0
    [a] = load_records(Anchor, tmp_path / "a.json")
    assert a.params == hevc(30, scale=0.45, filter="dilated", hidden=16) and a.score == result.score
    dup = run_tac(*args)
    assert dup.returncode == 2 and "already holds" in dup.stderr


def test_quickstart_runs_end_to_end():
    from tests.conftest import REPO

    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "quickstart.py")], capture_output=True, text=True, timeout=120
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "eligible" in proc.stdout and "after one cycle" in proc.stdout
    assert "refused (extrapolation)" in proc.stdout and "synthetic" in proc.stdout


def test_when_nothing_is_eligible_the_ranking_says_which_setting_would_admit_some(
    anchors, tmp_path
):
    """Refusals that help: each setting behind a refusal is relaxed alone and counted."""
    from tac.search.hints import admitting

    table = CandidateTable.from_params([hevc(c, s) for c in (24, 28, 32) for s in (0.45, 0.55)])
    few = anchors[:12]  # 12 anchors: below --min-anchors 20, enough for a band at 12
    ranking = rank(few, table, min_anchors=20)
    assert ranking.eligible == 0
    hints = admitting(ranking, few, table, coverage=0.9, min_anchors=20)
    words = [h.words({"min_anchors": "--min-anchors"}) for h in hints]
    assert words and words[0].startswith("--min-anchors 12 would admit")
    assert hints[0].admitted == rank(few, table, min_anchors=12).eligible > 0

    capped = MetaLagrangianSearch(Caps(bytes=1.0))  # no archive is one byte
    ranking = rank(anchors, table, search=capped)
    hints = admitting(ranking, anchors, table, coverage=0.9, min_anchors=8)
    assert [(h.setting, h.value) for h in hints] == [("max_bytes", None)] and hints[0].admitted > 0
    assert hints[0].words({}) == f"without --max-bytes would admit {hints[0].admitted}"
    assert (
        admitting(rank(anchors, table), anchors, table, coverage=0.9, min_anchors=8) == []
    )  # some eligible

    save_records(few, tmp_path / "few.json")
    shown = run_tac(
        "search", "rank", "--anchors", str(tmp_path / "few.json"), "--min-anchors", "20"
    )
    assert (
        shown.returncode == 0
        and "nothing is eligible: --min-anchors 12 would admit" in shown.stdout
    )


def test_search_rank_and_the_loop_share_their_defaults():
    import typer.main

    from tac.cli import app
    from tac.control.config import LoopConfig

    def defaults(*path: str) -> dict:
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]
        return {p.name: p.default for p in command.params}

    rank_, loop_ = defaults("search", "rank"), defaults("loop")
    fields = LoopConfig.model_fields
    for name in (
        "coverage",
        "min_anchors",
        "generator",
        "n",
        "seed",
        "risk",
        "max_inflate_s",
        "max_bytes",
    ):
        assert rank_[name] == fields[name].default, name
    for name in ("coverage", "min_anchors", "max_bytes"):
        assert loop_[name] == fields[name].default, name
