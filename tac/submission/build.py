"""Build a contest submission directory: archive.zip + inflate.sh + the inflate code it runs.

Lane-agnostic: a lane (`tac.lanes.base.Lane`, passed in, never imported) compresses the
originals and names the files its inflate needs; this module packages them. The archive is
byte-for-byte deterministic; the inflate code is self-contained (it runs where tac is not
installed); its settings live in inflate_config.json beside it, outside the archive, where
they cost no bytes.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tac import atomic
from tac.contest.originals import Originals
from tac.errors import TacError
from tac.submission.archive import write_deterministic_zip
from tac.video.decode import iter_frames, prefetch

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


def install_inflate(out_dir: Path, files: dict[str, bytes], config: dict | None = None) -> None:
    """Write the lane's inflate files (entry point and the runtime it loads: free, code outside
    the archive costs nothing) and its settings into a submission."""
    for name, content in sorted(files.items()):
        target = atomic.write_bytes(
            out_dir / name, content
        )  # replaces, never writes through, a link
        target.chmod(0o755 if name.endswith(".sh") else 0o644)
    if config:
        atomic.write_json(out_dir / "inflate_config.json", config)


def package_submission(
    out_dir: str | os.PathLike,
    members: dict[str, Path | bytes],
    inflate_files: dict[str, bytes],
    config: dict,
    manifest: dict,
) -> Path:
    """archive.zip from `members`, the inflate files beside it, and tac's manifest."""
    out = _fresh_dir(Path(out_dir))
    write_deterministic_zip(members, out / "archive.zip")
    install_inflate(out, inflate_files, config)
    _write_manifest(out, manifest)
    return out


def build_submission(
    lane,
    settings,
    originals: Originals,
    out_dir: str | os.PathLike,
    log: Callable[[str], None] | None = None,
    trained=None,
    decode_ahead: bool = True,
) -> Path:
    """Compress every original through `lane` and package the result as a submission.

    `trained` is what the lane's train step produced (a post-filter checkpoint for the codec
    lane): the lane's payload step turns it into archive members and inflate settings.
    `decode_ahead`: decode the originals in a thread, ahead of the lane's compression (PyAV
    and torch release the GIL, so on two cores decoding and encoding overlap); the same bytes
    either way.
    """
    log = log or (lambda message: None)
    start = time.perf_counter()
    extra, config, extra_manifest = lane.payload(settings, trained, log)
    if extra:
        log(f"payload: {len(extra)} member(s), {sum(len(b) if isinstance(b, bytes) else b.stat().st_size for b in extra.values()):,} bytes ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    out = _fresh_dir(Path(out_dir))
    members: dict[str, Path | bytes] = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".payload-") as tmp:
        for i, name in enumerate(originals.video_names, 1):
            stem, began = Path(name).stem, time.perf_counter()
            log(f"[{i}/{len(originals.video_names)}] {name}: {lane.name} lane")
            written = 0
            frames = iter_frames(originals.path(name))
            if decode_ahead:
                frames = prefetch(frames, depth=2)
            for path in lane.compress(frames, settings, Path(tmp) / stem):
                members[path.name] = path.read_bytes()
                written += len(members[path.name])
            log(f"[{i}/{len(originals.video_names)}] {name}: {written:,} bytes in {time.perf_counter() - began:.1f} s")  # fmt: skip
        clash = sorted(set(extra) & set(members))
        if clash:
            raise TacError(f"{lane.name} lane: archive member {clash[0]!r} written twice")
        members.update(extra)
    # the payload files were read into `members`: `out` is empty again for the packaging
    manifest = {"lane": lane.name, "params": settings.model_dump(), "videos": list(originals.video_names), **extra_manifest}  # fmt: skip
    began = time.perf_counter()
    sub = package_submission(out, members, lane.inflate_files(), config, manifest)
    log(f"packaged {sub / 'archive.zip'}: {(sub / 'archive.zip').stat().st_size:,} bytes ({time.perf_counter() - began:.1f} s; {time.perf_counter() - start:.1f} s in all)")  # fmt: skip
    return sub
