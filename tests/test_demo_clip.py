"""The synthetic dashcam drive: deterministic, structured, moving, and encodable to a real clip."""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest

from tac.video.demo import (
    DEMO_FPS,
    DEMO_FRAMES,
    DEMO_HEIGHT,
    DEMO_WIDTH,
    render_frame,
    render_frames,
    write_demo_clip,
)

CLIP_FRAMES = 6


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_constants_match_the_contest_video():
    assert (DEMO_WIDTH, DEMO_HEIGHT, DEMO_FPS, DEMO_FRAMES) == (1164, 874, 20, 40)


def test_render_frame_shape_and_dtype():
    frame = render_frame(0)
    assert frame.shape == (DEMO_HEIGHT, DEMO_WIDTH, 3)
    assert frame.dtype == np.uint8
    assert frame.flags.c_contiguous


def test_same_t_and_seed_give_identical_frames():
    first = render_frame(3, seed=1)
    render_frame(17, seed=1)  # rendering something else in between must not change the result
    np.testing.assert_array_equal(first, render_frame(3, seed=1))


def test_consecutive_frames_differ_by_plausible_motion():
    a, b = render_frame(10), render_frame(11)
    diff = _mean_abs_diff(a, b)
    assert diff > 0.5, "consecutive frames must show ego-motion"
    assert diff < 30.0, "consecutive frames must not look like a scene cut"
    # the motion is everywhere the world is: the road near the camera and the roadside both change
    assert _mean_abs_diff(a[600:700], b[600:700]) > 0.5
    assert _mean_abs_diff(a[250:420], b[250:420]) > 0.5


def test_different_seeds_give_different_drives():
    assert _mean_abs_diff(render_frame(0, seed=0), render_frame(0, seed=1)) > 5.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frames_have_structure_sky_above_road(seed):
    frame = render_frame(5, seed=seed).astype(np.float64)
    assert (frame.reshape(-1, 3).std(axis=0) > 20.0).all(), "frame is too flat"
    sky = frame[20:120, 400:760].reshape(-1, 3).mean(axis=0)
    road = frame[640:720, 420:740].reshape(-1, 3).mean(axis=0)
    assert np.linalg.norm(sky - road) > 40.0
    assert sky.mean() > road.mean() + 30.0, "sky should be brighter than asphalt"
    assert sky[2] - sky[0] > road[2] - road[0] + 10.0, "sky should be bluer than asphalt"
    # strong local edges exist (lane lines, objects), not only smooth gradients
    grad = np.abs(np.diff(frame.mean(axis=2), axis=1))
    assert (grad > 40.0).sum() > 500


def test_render_frames_stacks_render_frame():
    frames = render_frames(3, seed=2)
    assert frames.shape == (3, DEMO_HEIGHT, DEMO_WIDTH, 3)
    assert frames.dtype == np.uint8
    for t in range(3):
        np.testing.assert_array_equal(frames[t], render_frame(t, seed=2))


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """Two encodes of the same short drive, in their own directory."""
    directory = tmp_path_factory.mktemp("demo-clip")
    write_demo_clip(directory / "a.mkv", n=CLIP_FRAMES, seed=0)
    returned = write_demo_clip(directory / "b.mkv", n=CLIP_FRAMES, seed=0)
    assert returned == directory / "b.mkv"
    return directory


def test_write_demo_clip_decodes_to_n_contest_sized_frames(clip_dir):
    with av.open(str(clip_dir / "a.mkv")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "hevc"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == CLIP_FRAMES
    assert all(f.shape == (DEMO_HEIGHT, DEMO_WIDTH, 3) for f in frames)
    # high quality: the decoded frames are close to what was drawn
    assert _mean_abs_diff(frames[0], render_frame(0)) < 4.0
    assert _mean_abs_diff(frames[-1], render_frame(CLIP_FRAMES - 1)) < 4.0


def test_write_demo_clip_leaves_no_temp_files(clip_dir):
    assert sorted(p.name for p in clip_dir.iterdir()) == ["a.mkv", "b.mkv"]


def test_write_demo_clip_is_byte_deterministic(clip_dir):
    assert _sha256(clip_dir / "a.mkv") == _sha256(clip_dir / "b.mkv")


def test_write_demo_clip_replaces_an_existing_file(tmp_path):
    target = tmp_path / "demo.mkv"
    target.write_bytes(b"stale")
    write_demo_clip(target, n=2, seed=3)
    assert target.stat().st_size > 1000
    with av.open(str(target)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["demo.mkv"]


def test_bad_frame_counts_are_refused(tmp_path):
    with pytest.raises(ValueError):
        render_frames(-1)
    with pytest.raises(ValueError):
        write_demo_clip(tmp_path / "empty.mkv", n=0)
    assert list(tmp_path.iterdir()) == []
