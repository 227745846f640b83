"""Build a contest submission directory: archive.zip + inflate.sh + the inflate code it runs.

The archive is byte-for-byte deterministic; the inflate code is self-contained (it runs where
tac is not installed); its settings live in inflate_config.json beside it, outside the archive,
where they cost no bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from tac import atomic
from tac.contest.originals import Originals
from tac.errors import TacError
from tac.submission.archive import write_deterministic_zip
from tac.video.decode import iter_frames

TEMPLATES = resources.files("tac.submission") / "templates"
INFLATE_FILES = ("inflate.sh", "inflate.py")


MANIFEST = "tac_submission.json"


def _fresh_dir(out: Path) -> Path:
    """Empty `out` if tac built it (it holds tac's manifest); refuse anything else not empty.

    A link is refused, not followed: at `out` it would make tac empty another directory, and a
    linked manifest is not one tac wrote."""
    atomic.refuse_symlink(out)
    if out.exists() and any(out.iterdir()):
        manifest = out / MANIFEST
        if manifest.is_symlink() or not manifest.is_file():
            raise TacError(
                f"{out}: exists, is not empty and was not built by tac (no {MANIFEST}); "
                "choose an empty or new --out"
            )
        atomic.remove_tree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_manifest(out: Path, manifest: dict) -> None:
    atomic.write_json(out / MANIFEST, manifest)


def install_inflate(out_dir: Path, config: dict | None = None) -> None:
    """Copy the self-contained inflate entry point, the post-filter runtime it may load (free:
    code outside the archive costs nothing) and its settings into a submission."""
    from tac.submission.runtime import install_runtime

    install_runtime(out_dir)
    for name in INFLATE_FILES:
        target = atomic.write_bytes(out_dir / name, (TEMPLATES / name).read_bytes())
        target.chmod(0o755 if name.endswith(".sh") else 0o644)
    if config:
        atomic.write_json(out_dir / "inflate_config.json", config)


def build_video_submission(
    videos: dict[str, str | os.PathLike], out_dir: str | os.PathLike
) -> Path:
    """A submission whose archive holds one ready-made video per original (`{"0.mkv": path}`).

    Its inflate decodes each video with the evaluator's own YUV→RGB conversion (resizing to
    1164x874 if needed), so an archive holding the original itself scores zero distortion.
    """
    out = _fresh_dir(Path(out_dir))
    members: dict[str, Path | bytes] = {}
    for original_name, path in videos.items():
        path = Path(path)
        members[Path(original_name).stem + path.suffix] = path
    write_deterministic_zip(members, out / "archive.zip")
    install_inflate(out)
    _write_manifest(out, {"lane": "video", "videos": sorted(videos)})
    return out


def build_submission(
    lane_name: str,
    params: BaseModel,
    originals: Originals,
    out_dir: str | os.PathLike,
    log: Callable[[str], None] | None = None,
    filter_checkpoint: str | os.PathLike | None = None,
) -> Path:
    """Compress every original through a lane and package the result as a submission.

    With `filter_checkpoint` (codec lane only), the archive also carries that post-filter's
    quantized weights and the inflate applies it to every decoded frame on the CPU.
    """
    from tac.lanes import get_lane

    lane = get_lane(lane_name)
    shipped = _shipped_filter(filter_checkpoint, lane_name, log) if filter_checkpoint else None
    out = _fresh_dir(Path(out_dir))
    members: dict[str, Path | bytes] = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".payload-") as tmp:
        for name in originals.video_names:
            stem = Path(name).stem
            if log:
                log(f"compressing {name} with {lane.name} lane")
            for path in lane.compress(iter_frames(originals.path(name)), params, Path(tmp) / stem):
                members[path.name] = path.read_bytes()
        config = lane.inflate_config(params)
        manifest = {
            "lane": lane_name,
            "params": params.model_dump(),
            "videos": list(originals.video_names),
        }
        if shipped:
            from tac.submission import runtime

            members[runtime.FILTER_MEMBER] = shipped["blob"]
            config["filter"] = {"member": runtime.FILTER_MEMBER, "batch": runtime.DEFAULT_BATCH}
            manifest["filter"] = shipped["manifest"]
        write_deterministic_zip(members, out / "archive.zip")
    install_inflate(out, config)
    _write_manifest(out, manifest)
    return out


def _shipped_filter(checkpoint, lane_name: str, log: Callable[[str], None] | None) -> dict:
    """A checkpoint's `filter.tacq` blob, checked to rebuild the checkpoint's own weights."""
    import hashlib

    from tac.submission import runtime
    from tac.train.checkpoint import load_checkpoint

    if lane_name != "codec":
        raise TacError(f"--filter: only the codec lane carries a post-filter (not {lane_name!r})")
    model, card = load_checkpoint(checkpoint)
    bits = card["train"]["bits"]
    blob = runtime.filter_blob(model, bits)
    rebuilt = runtime.load_filter_blob(blob).state_dict()
    drift = max(float((rebuilt[k] - v).abs().max()) for k, v in model.state_dict().items())
    if drift and log:
        # Checkpoints hold dequantized weights; re-quantizing an LSQ grid onto the absmax grid
        # can move a weight by part of a step. The submission's own score is what counts.
        log(f"note: re-quantizing {checkpoint} moved weights by up to {drift:.2e}")
    return {
        "blob": blob,
        "manifest": {
            "checkpoint": str(checkpoint),
            "arch": card["arch"],
            "bits": bits,
            "sha256": hashlib.sha256(blob).hexdigest(),
        },
    }
