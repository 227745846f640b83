"""The stand-in scorers: a SegNet trained on the synthetic world (shipped) and a seeded PoseNet.

SegNet sees held-out drives and flips about as few pixels under the baseline recipe as trained
SegNets do; both distortion terms grow with damage; the smoke profile trains against them; results
from the old, all-seeded stand-ins are not taken as anchors. PoseNet is not trained yet (issue
14), so the two terms are not yet within 3x of each other on baseline_fast (measured: ≈ 6x)."""

import math

import pytest

from tac.contest.standin import data, metrics
from tac.contest.weights import standin_recipe, standin_weights
from tac.lanes.codec.params import CodecParams

BASELINE_FAST = CodecParams(codec="hevc", crf=30, preset="fast", scale=0.45)


def terms(result) -> tuple[float, float]:
    return 100 * result.seg, math.sqrt(10 * result.pose)


@pytest.mark.slow
def test_segnet_labels_held_out_drives():
    frames = data.render_frames(data.sample_times(data.HELD_OUT_SEEDS[::4], 1, 3))
    assert metrics.seg_accuracy(standin_weights().segnet_path, frames) >= 0.9


def test_the_recipe_says_how_each_stand_in_was_made():
    recipe = standin_recipe()
    assert recipe["held_out"]["seg_pixel_accuracy"] >= 0.9
    assert recipe["segnet"]["drives"][0] >= 10_000  # never the demo clip's or the tests' drives
    assert (
        recipe["posenet"]["trained"] is False
        and recipe["posenet"]["seed"] == standin_weights().seed
    )


def test_the_seeded_posenet_file_is_the_same_bytes_on_every_host():
    """Its sha256 is in the weights id every job must match: the header may carry no map of
    several entries, which safetensors writes in a per-process random order."""
    from safetensors import safe_open

    with safe_open(str(standin_weights().posenet_path), "pt") as f:
        assert len(f.metadata() or {}) <= 1


@pytest.fixture(scope="module")
def sweep(scorer, tmp_path_factory):
    """Both terms on the demo clip's first 16 frames under baseline_fast, more and less damage."""
    from tac.contest.evaluate import evaluate_submission
    from tac.contest.originals import demo_originals
    from tac.lanes import get_lane
    from tac.submission.build import build_submission

    work = tmp_path_factory.mktemp("sweep")
    demo = demo_originals(frames=16)
    settings = {"baseline": BASELINE_FAST}
    settings |= {f"scale {s}": BASELINE_FAST.model_copy(update={"scale": s}) for s in (0.75, 0.5, 0.25)}  # fmt: skip
    settings |= {f"crf {c}": BASELINE_FAST.model_copy(update={"crf": c}) for c in (20, 40)}
    out = {}
    for name, params in settings.items():
        sub = build_submission(get_lane("codec"), params, demo, work / name.replace(" ", "_"))
        out[name] = terms(evaluate_submission(sub, demo, scorer))
    out["crf 30"] = out["baseline"]
    return out


@pytest.mark.slow
def test_baseline_fast_flips_about_as_few_pixels_as_a_trained_segnet(sweep):
    # trained SegNets flip ≈ 1 % at this quality (the real video: 100·seg = 0.95); the seeded
    # stand-in flipped 11 %
    seg, pose = sweep["baseline"]
    assert 0.2 <= seg <= 2.0 and pose > 0, sweep["baseline"]


@pytest.mark.slow
@pytest.mark.parametrize("axis", [("scale 0.75", "scale 0.5", "scale 0.25"), ("crf 20", "crf 30", "crf 40")])  # fmt: skip
def test_both_terms_rise_with_damage(sweep, axis):
    for term in (0, 1):
        values = [sweep[name][term] for name in axis]
        assert values == sorted(values) and values[0] < values[-1], (term, values)


@pytest.mark.slow
def test_the_smoke_profile_lowers_the_exact_metric(scorer, tmp_path):
    from tac.contest.originals import demo_originals
    from tac.lanes.codec.filter_training import prepare_frames, train
    from tac.train.profiles import profile_config

    params = CodecParams(codec="hevc", crf=34, preset="ultrafast", scale=0.5)
    prepare_frames(demo_originals(frames=8), params, tmp_path / "frames", log=lambda m: None)
    config = profile_config("smoke", tag="smoke", out_dir=str(tmp_path / "run"), progress=False)
    summary = train(config, tmp_path / "frames", scorer)
    assert summary.after < summary.before, (summary.before, summary.after)


def test_results_of_the_old_stand_ins_are_not_anchors_for_the_new():
    from tac.errors import TacError
    from tac.search import Axis, CandidateTable, rank
    from tac.search.synthetic import SyntheticWorld, sample_params

    new = standin_weights().weights_id
    # the seeded stand-ins' id had the same shape; their files hashed to something else
    old = "stand-in:0:" + "0123456789abcdef"
    assert new != old and new.startswith("stand-in:")
    measured = SyntheticWorld(seed=0).anchors(sample_params(12, seed=1), rng_seed=1)
    anchors = [a.model_copy(update={"weights": old}) for a in measured]
    table = CandidateTable.from_params(sample_params(3, seed=2))
    with pytest.raises(TacError, match="no anchors on axis"):
        rank(anchors, table, axis=Axis("cpu", new))
    assert rank(anchors, table).axis.weights == old  # they still rank among themselves
