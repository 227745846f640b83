"""Shared fixtures: an isolated tac cache, the stand-in scorers and the demo clip, built once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def tac_cache(tmp_path_factory) -> Path:
    """Every test session gets its own cache: no test depends on what a developer built before."""
    path = tmp_path_factory.mktemp("tac-cache")
    os.environ["TAC_CACHE_DIR"] = str(path)
    os.environ.pop("TAC_CHALLENGE_DIR", None)
    return path


@pytest.fixture(scope="session")
def scorer(tac_cache):
    from tac.contest.scorer import Scorer
    from tac.contest.weights import standin_weights

    return Scorer(standin_weights(0))


@pytest.fixture(scope="session")
def demo(tac_cache):
    from tac.contest.originals import demo_originals

    return demo_originals()


@pytest.fixture(scope="session")
def demo_frames(demo):
    from tac.video.decode import decode_video

    return decode_video(demo.path("0.mkv"))


def run_tac(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """The real `tac` console entry point in a subprocess, with this session's cache."""
    return subprocess.run(
        [sys.executable, "-m", "tac.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=timeout,
        env=os.environ.copy(),
    )
