"""The codec lane on a short demo clip: validation, rate/distortion trends, exact inflate."""

import numpy as np
import pytest

from tac.contest.reference import reference_outputs
from tac.contest.scorer import distortions
from tac.errors import TacError
from tac.lanes import get_lane
from tac.lanes.codec.cli import codec_params
from tac.lanes.codec.params import CodecParams
from tac.video.decode import iter_frames, iter_pair_batches


@pytest.fixture(scope="module")
def short_demo(tac_cache):
    from tac.contest.originals import demo_originals

    return demo_originals(frames=8)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(codec="hevc", crf=52), "outside libx265's range 0..51"),
        (dict(codec="av1", crf=0, preset="8"), "outside libsvtav1's range 1..63"),
        (dict(codec="hevc", preset="8"), "does not exist for libx265"),
        (dict(codec="av1", preset="veryslow"), "does not exist for libsvtav1"),
        (dict(codec="av1", preset="8", bframes=2), "no b-frames"),
        (dict(codec="h264", film_grain=10), "film grain is an AV1 feature"),
        (dict(codec="hevc", scale=0.01), "at least 16x16"),
        (dict(codec="vp9"), "codec"),
        (dict(codec="hevc", surprise=1), "surprise"),
    ],
)
def test_invalid_settings_are_one_clear_line(kw, message):
    with pytest.raises(TacError, match=message) as exc:
        codec_params(**kw)
    assert "\n" not in str(exc.value)


def test_sizes_are_kept_even():
    assert CodecParams(scale=0.45).size == (524, 394)
    assert CodecParams(scale=0.5).size == (582, 436)  # 437 would be odd
    assert CodecParams().size == (1164, 874)
    for s in np.linspace(0.1, 1.0, 37):
        w, h = CodecParams(scale=float(s)).size
        assert w % 2 == 0 and h % 2 == 0


def run_lane(params, demo, scorer, tmp_path):
    lane = get_lane("codec")
    [payload] = lane.compress(iter_frames(demo.path("0.mkv")), params, tmp_path / params.codec)
    frames = list(lane.inflate([payload], params))
    ref = reference_outputs(scorer, demo.path("0.mkv"))
    comp = [scorer.outputs(b) for b in iter_pair_batches(frames)]
    from tac.contest.scorer import ScorerOutputs

    pose, seg = distortions(ref, ScorerOutputs.cat(comp))
    return (
        payload.stat().st_size,
        frames,
        100 * seg.mean().item() + (10 * pose.mean().item()) ** 0.5,
    )


@pytest.mark.parametrize(
    "codec, preset, crfs",
    [("hevc", "ultrafast", (22, 42)), ("av1", "12", (25, 55)), ("h264", "ultrafast", (20, 42))],
)
def test_bytes_fall_and_distortion_rises_with_crf(
    codec, preset, crfs, short_demo, scorer, tmp_path
):
    results = []
    for crf in crfs:
        params = CodecParams(codec=codec, crf=crf, preset=preset, scale=0.5)
        size, frames, dist = run_lane(params, short_demo, scorer, tmp_path / str(crf))
        assert (
            len(frames) == 8 and frames[0].shape == (874, 1164, 3) and frames[0].dtype == np.uint8
        )
        results.append((size, dist))
    (bytes_lo, dist_lo), (bytes_hi, dist_hi) = results
    assert bytes_hi < bytes_lo, results
    assert dist_hi > dist_lo, results


def test_ten_bit_and_gop_settings_encode(short_demo, scorer, tmp_path):
    params = CodecParams(
        codec="hevc",
        crf=30,
        preset="ultrafast",
        scale=0.5,
        keyint=4,
        bframes=0,
        pix_fmt="yuv420p10le",
    )
    size, frames, _ = run_lane(params, short_demo, scorer, tmp_path)
    assert size > 0 and len(frames) == 8
