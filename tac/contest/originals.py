"""Which original videos a submission is scored against, and the rate's denominator.

From an explicit directory, from a challenge checkout (`videos/` + the names file), or — with
neither — the synthetic demo clip, built once into the cache.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from tac import atomic
from tac.contest import constants as C
from tac.errors import TacError
from tac.paths import cache_dir

VIDEO_SUFFIXES = (".mkv", ".hevc", ".mp4", ".mov", ".webm")


@dataclass(frozen=True)
class Originals:
    directory: Path
    names_file: Path
    video_names: tuple[str, ...]
    demo: bool = False

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def total_bytes(self) -> int:
        """Every file under the directory, recursively: the official rate denominator."""
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())

    def describe(self) -> str:
        what = "synthetic demo clip" if self.demo else "originals"
        return f"{what} {self.directory} ({', '.join(self.video_names)})"


def read_video_names(names_file: Path) -> tuple[str, ...]:
    try:
        lines = names_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TacError(f"{names_file}: cannot read the video names file ({exc.strerror})") from None
    names = tuple(line.strip() for line in lines if line.strip())
    if not names:
        raise TacError(f"{names_file}: no video names in it; list one video file name per line")
    return names


def resolve_originals(
    originals_dir: str | os.PathLike | None = None,
    video_names_file: str | os.PathLike | None = None,
    challenge_dir: str | os.PathLike | None = None,
) -> Originals:
    if originals_dir is None and challenge_dir:
        originals_dir = Path(challenge_dir) / "videos"
        if video_names_file is None:
            video_names_file = Path(challenge_dir) / C.VIDEO_NAMES_FILE
    if originals_dir is None:
        return demo_originals()
    directory = Path(originals_dir)
    if not directory.is_dir():
        raise TacError(f"{directory}: originals directory not found")
    if video_names_file is None:
        candidate = directory / C.VIDEO_NAMES_FILE
        names_file = candidate if candidate.is_file() else None
    else:
        names_file = Path(video_names_file)
    if names_file is None:
        names = tuple(sorted(p.name for p in directory.iterdir() if p.suffix in VIDEO_SUFFIXES))
        if not names:
            raise TacError(
                f"{directory}: no videos in it ({', '.join(VIDEO_SUFFIXES)}) and no --video-names file"
            )
        key = hashlib.sha256(f"{directory.resolve()}|{names}".encode()).hexdigest()[:16]
        names_file = cache_dir("names") / f"{key}.txt"
        atomic.write_text(names_file, "\n".join(names) + "\n")
    else:
        names = read_video_names(names_file)
    for name in names:
        if not (directory / name).is_file():
            raise TacError(f"{directory / name}: listed in {names_file} but not found")
    return Originals(directory, names_file, names)


def demo_originals(frames: int | None = None, seed: int = 0) -> Originals:
    """The demo clip as an originals directory (built on first use, then reused)."""
    from tac.video import demo

    n = frames or demo.DEMO_FRAMES
    root = cache_dir("demo", f"seed{seed}-n{n}")
    videos = root / "videos"
    clip = videos / C.CONTEST_VIDEO_NAME
    if not clip.is_file():
        # Built beside videos/ and moved in: a half-written temp file inside videos/ would
        # count in the rate's denominator (every file under the originals directory).
        staged = demo.write_demo_clip(root / C.CONTEST_VIDEO_NAME, n=n, seed=seed)
        videos.mkdir(exist_ok=True)
        os.replace(staged, clip)
    names_file = root / C.VIDEO_NAMES_FILE
    if not names_file.is_file():
        atomic.write_text(names_file, C.CONTEST_VIDEO_NAME + "\n")
    return Originals(videos, names_file, (C.CONTEST_VIDEO_NAME,), demo=True)
