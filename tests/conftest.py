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

    return Scorer(standin_weights())


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


BLOCK_TAC = """
import sys


class BlockTac:
    def find_spec(self, name, path=None, target=None):
        if name == "tac" or name.startswith("tac."):
            raise ImportError("tac is not installed on the official machine")


sys.meta_path.insert(0, BlockTac())
"""


def poisoned_env(tmp_path):
    """An environment where `import tac` fails, as on the official evaluation machine.

    A sitecustomize on PYTHONPATH puts a blocking finder ahead of every other (an editable
    install's finder would otherwise still find tac).
    """
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "sitecustomize.py").write_text(BLOCK_TAC)
    env = os.environ.copy()
    env["PYTHONPATH"] = str(poison)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def inflate_without_tac(submission: Path, names_file: Path, tmp_path: Path) -> Path:
    """Unzip a submission's archive and run its inflate.sh where tac cannot be imported, as the
    contest machine would; returns the output directory."""
    import zipfile

    env = poisoned_env(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import tac"], env=env, capture_output=True)
    assert probe.returncode != 0 and b"official machine" in probe.stderr  # the poison works
    archive_dir, out = tmp_path / "archive", tmp_path / "out"
    with zipfile.ZipFile(submission / "archive.zip") as zf:
        zf.extractall(archive_dir)
    argv = ["bash", str(submission / "inflate.sh"), str(archive_dir), str(out), str(names_file)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out
