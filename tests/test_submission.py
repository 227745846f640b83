"""Submission building: deterministic archives and an inflate that converts like the evaluator."""

import importlib.util
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from tac.contest.frames import av_frame_to_rgb
from tac.errors import TacError
from tac.lanes.codec import build_video_submission
from tac.submission.archive import write_deterministic_zip

TEMPLATES = Path(__file__).resolve().parents[1] / "tac" / "lanes" / "codec" / "inflate"


def load_template_inflate():
    spec = importlib.util.spec_from_file_location("inflate_template", str(TEMPLATES / "inflate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inflate_template_converts_exactly_like_the_evaluator():
    inflate = load_template_inflate()
    rng = np.random.default_rng(5)
    frame = av.VideoFrame(1164, 874, "yuv420p")
    for plane in frame.planes:
        plane.update(rng.integers(0, 256, plane.buffer_size, dtype=np.uint8).tobytes())
    assert torch.equal(inflate.yuv420_to_rgb(frame), av_frame_to_rgb(frame))


def test_deterministic_zip_is_sorted_fixed_and_reproducible(tmp_path):
    src = tmp_path / "b.mkv"
    src.write_bytes(b"video" * 100)
    members = {"z.bin": b"weights" * 50, "b.mkv": src}
    a = write_deterministic_zip(members, tmp_path / "a.zip").read_bytes()
    src.touch()  # a newer mtime must not matter
    b = write_deterministic_zip(dict(reversed(members.items())), tmp_path / "b.zip").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["b.mkv", "z.bin"]
        assert infos[0].compress_type == zipfile.ZIP_STORED  # already-compressed video is stored
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)


def test_build_refuses_to_clobber_a_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    video = tmp_path / "v.mkv"
    video.write_bytes(b"x")
    with pytest.raises(TacError, match="not built by tac"):
        build_video_submission({"0.mkv": video}, tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_built_submission_layout(tmp_path):
    video = tmp_path / "v.mkv"
    video.write_bytes(b"x")
    sub = build_video_submission({"0.mkv": video}, tmp_path / "sub")
    names = sorted(p.name for p in sub.iterdir())
    assert names == ["archive.zip", "inflate.py", "inflate.sh", "tac_submission.json", "tacrt"]
    # a directory that merely contains an archive.zip is not tac's to delete
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "archive.zip").write_bytes(b"x")
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(TacError, match="not built by tac"):
        build_video_submission({"0.mkv": video}, foreign)
    assert (foreign / "notes.txt").read_text() == "mine"
    # but rebuilding tac's own submission is fine
    build_video_submission({"0.mkv": video}, sub)
    assert (sub / "inflate.sh").stat().st_mode & 0o111
    with zipfile.ZipFile(sub / "archive.zip") as zf:
        assert zf.namelist() == ["0.mkv"]
