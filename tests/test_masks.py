"""Masks, their codecs and the pose side channel (issue 16, first part): the lossless coders
round-trip bit for bit on generated masks and on the demo's; the context coder beats the lzma
floor on real masks; lossy grey-video codecs trade bytes for label errors as crf moves; damaged
streams are refused; the pose side channel's error stays within its bound."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tac.lanes.masks import context, pose
from tac.lanes.masks.codecs import MASK_CODECS, MaskCodeError


def blocky_masks(draw_seed: int, n: int, h: int, w: int) -> np.ndarray:
    """Masks shaped like segmentations: a few regions that drift from frame to frame."""
    rng = np.random.default_rng(draw_seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w), np.uint8)
    centres = rng.uniform(0, 1, (5, 2)) * (h, w)
    for f in range(n):
        centres += rng.normal(0, 1.0, centres.shape)
        d = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2  # fmt: skip
        out[f] = np.argmin(d, axis=0)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 9), st.integers(1, 11)), elements=st.integers(0, 4)))  # fmt: skip
def test_the_context_coder_round_trips_any_masks(masks):
    assert np.array_equal(context.decode(context.encode(masks)), masks)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(2, 40), st.integers(2, 40))
def test_every_lossless_codec_round_trips_segmentation_like_masks(seed, n, h, w):
    masks = blocky_masks(seed, n, h, w)
    for name in ("context", "lzma", "brotli"):
        codec = MASK_CODECS.get(name)
        assert codec.lossless
        assert np.array_equal(codec.decode(codec.encode(masks)), masks), name


@pytest.fixture(scope="module")
def demo_masks(scorer):
    from tac.contest.originals import demo_originals
    from tac.lanes.masks.masks import pose_targets, video_masks

    demo = demo_originals(frames=16)
    video = demo.path(demo.video_names[0])
    return video_masks(scorer, video), pose_targets(scorer, video)


def test_the_demo_masks_round_trip_and_the_context_coder_beats_the_floor(demo_masks):
    masks, targets = demo_masks
    assert masks.shape == (8, 384, 512) and masks.dtype == np.uint8 and targets.shape == (8, 6)
    sizes = {}
    for name in ("context", "lzma", "brotli"):
        blob = MASK_CODECS.get(name).encode(masks)
        assert np.array_equal(MASK_CODECS.get(name).decode(blob), masks), name
        sizes[name] = len(blob)
    assert sizes["context"] < 0.8 * min(sizes["lzma"], sizes["brotli"]), sizes
    assert context.encode(masks) == context.encode(masks.copy())  # deterministic


@pytest.mark.parametrize("name", ["av1", "hevc"])
def test_grey_video_codecs_trade_bytes_for_label_errors(demo_masks, name):
    masks, _ = demo_masks
    codec = MASK_CODECS.get(name)
    assert not codec.lossless
    low, high = (20, 55) if name == "av1" else (10, 45)
    fine, coarse = codec.encode(masks, crf=low), codec.encode(masks, crf=high)
    err = {crf: float((codec.decode(b) != masks).mean()) for crf, b in ((low, fine), (high, coarse))}  # fmt: skip
    assert len(coarse) < len(fine)
    assert err[low] < err[high] < 0.05, err
    assert codec.encode(masks, crf=high) == coarse  # byte-reproducible


def test_damaged_streams_are_refused():
    masks = blocky_masks(1, 2, 16, 16)
    blob = context.encode(masks)
    with pytest.raises(MaskCodeError, match="bad magic"):
        context.decode(b"XXXX" + blob[4:])
    with pytest.raises(MaskCodeError, match="code bytes"):
        context.decode(blob[:-4])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        context.encode(np.full((1, 4, 4), 7, np.uint8))
    for name in ("lzma", "brotli", "av1"):
        codec = MASK_CODECS.get(name)
        blob = codec.encode(masks)
        with pytest.raises(MaskCodeError, match=f"{name} mask stream"):
            codec.decode(blob[: len(blob) // 2])


@pytest.mark.parametrize("bits", [6, 10, 12])
def test_the_pose_side_channel_stays_within_its_bound(bits):
    rng = np.random.default_rng(bits)
    targets = np.cumsum(rng.normal(0, 0.01, (600, 6)), axis=0).astype(np.float32)
    blob = pose.encode(targets, bits)
    back = pose.decode(blob)
    assert back.shape == targets.shape and back.dtype == np.float32
    assert np.abs(back - targets).max() <= pose.max_error(targets, bits) * 1.001
    assert len(pose.encode(targets, bits - 2)) < len(blob)  # fewer bits, fewer bytes
