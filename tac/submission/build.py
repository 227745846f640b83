"""Build a contest submission directory: archive.zip + inflate.sh + the inflate code it runs."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from tac.errors import TacError
from tac.submission.archive import write_deterministic_zip

TEMPLATES = resources.files("tac.submission") / "templates"


def install_inflate(out_dir: Path) -> None:
    """Copy the self-contained inflate entry point into a submission directory."""
    for name in ("inflate.sh", "inflate.py"):
        target = out_dir / name
        target.write_bytes((TEMPLATES / name).read_bytes())
        target.chmod(0o755 if name.endswith(".sh") else 0o644)


def build_video_submission(
    videos: dict[str, str | os.PathLike], out_dir: str | os.PathLike
) -> Path:
    """A submission whose archive holds one video file per original (`{"0.mkv": path}`).

    Its inflate decodes each video with the evaluator's own YUV→RGB conversion and resizes to
    1164x874, so an archive holding the original itself scores exactly zero distortion.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not (out / "archive.zip").exists():
            raise TacError(
                f"{out}: exists and is not a submission directory; choose an empty or new --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    members: dict[str, Path | bytes] = {}
    for original_name, path in videos.items():
        path = Path(path)
        members[Path(original_name).stem + path.suffix] = path
    write_deterministic_zip(members, out / "archive.zip")
    install_inflate(out)
    return out
