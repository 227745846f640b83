"""Where the scorer weights come from, and proof of which ones were used.

Order: explicit paths → a challenge checkout (a checkout of the challenge repository, sha256
checked against the spec) → the stand-in weights (SegNet trained on the synthetic world and
shipped inside tac, see `tac.contest.standin`; PoseNet seeded). The library takes these as
arguments only; `TAC_CHALLENGE_DIR` is read by the CLI where options are parsed. Nothing is ever
downloaded. Every result carries `ScorerWeights.weights_id`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tac import atomic
from tac.contest import constants as C
from tac.contest.networks import PoseNet, SegNet, calibrate_batchnorm
from tac.errors import TacError
from tac.hashing import sha256_file
from tac.paths import cache_dir

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


@dataclass(frozen=True)
class ScorerWeights:
    """Paths to one PoseNet and one SegNet state dict, and what they are."""

    posenet_path: Path
    segnet_path: Path
    posenet_sha256: str
    segnet_sha256: str
    kind: str  # "official" | "custom" | "stand-in"
    seed: int | None = None  # stand-ins: the seed their training recipe ran with

    @property
    def official(self) -> bool:
        return self.kind == "official"

    @property
    def weights_id(self) -> str:
        """`official`, `custom:<sha>`, or `stand-in:<seed>:<sha>` — goes into every output."""
        if self.official:
            return "official"
        digest = _combined_digest(self.posenet_sha256, self.segnet_sha256)
        if self.kind == "stand-in":
            return f"stand-in:{self.seed}:{digest}"
        return f"custom:{digest}"

    def describe(self) -> str:
        if self.official:
            return (
                f"official (posenet {self.posenet_sha256[:12]}…, segnet {self.segnet_sha256[:12]}…)"
            )
        if self.kind == "stand-in":
            return (
                f"STAND-IN scorers {self.weights_id} "
                "(SegNet trained on the synthetic world, PoseNet seeded; not the official networks)"
            )
        return f"custom weights {self.weights_id} (sha256 differs from the official files)"


def _combined_digest(pose_sha: str, seg_sha: str) -> str:
    import hashlib

    return hashlib.sha256(f"{pose_sha}:{seg_sha}".encode()).hexdigest()[:16]


def resolve_weights(
    posenet: str | os.PathLike | None = None,
    segnet: str | os.PathLike | None = None,
    challenge_dir: str | os.PathLike | None = None,
) -> ScorerWeights:
    """Pick the scorer weights by the documented order of precedence."""
    if (posenet is None) != (segnet is None):
        raise TacError("give both --posenet and --segnet weights, or neither")
    if posenet is not None and segnet is not None:
        return _checked(Path(posenet), Path(segnet))
    if challenge_dir:
        root = Path(challenge_dir)
        if not root.is_dir():
            raise TacError(
                f"{root}: challenge directory not found; point --challenge-dir at a checkout of the challenge repository"
            )
        return _checked(root / C.POSENET_FILE, root / C.SEGNET_FILE)
    return standin_weights()


def _checked(pose_path: Path, seg_path: Path) -> ScorerWeights:
    for path in (pose_path, seg_path):
        check_weights_file(path)
    pose_sha, seg_sha = sha256_file(pose_path), sha256_file(seg_path)
    official = pose_sha == C.POSENET_SHA256 and seg_sha == C.SEGNET_SHA256
    return ScorerWeights(
        pose_path, seg_path, pose_sha, seg_sha, "official" if official else "custom"
    )


def check_weights_file(path: Path) -> None:
    """A missing file or a git-lfs pointer gets a clear error instead of a safetensors crash."""
    if not path.is_file():
        raise TacError(
            f"{path}: scorer weights not found; pass the file, or a challenge checkout with --challenge-dir"
        )
    with open(path, "rb") as f:
        head = f.read(len(LFS_POINTER_PREFIX))
    if head == LFS_POINTER_PREFIX:
        raise TacError(
            f"{path}: this is a git-lfs pointer, not the weights; run `git lfs pull` in the challenge checkout"
        )


def load_state_dict_strict(module: torch.nn.Module, path: Path, what: str) -> None:
    """Load safetensors into `module` with strict=True; mismatches become one clear line."""
    check_weights_file(path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise TacError(
            f"{path}: not a readable safetensors file ({exc}); re-fetch the {what} weights"
        ) from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()), str(exc))
        raise TacError(f"{path}: not {what} weights ({first[:160]}); check the file") from None


def build_scorers(
    weights: ScorerWeights, device: str | torch.device = "cpu"
) -> tuple[PoseNet, torch.nn.Module]:
    """Both networks with their weights loaded, in eval mode, gradients off."""
    posenet, segnet = PoseNet(), SegNet()
    load_state_dict_strict(posenet, weights.posenet_path, "PoseNet")
    load_state_dict_strict(segnet, weights.segnet_path, "SegNet")
    for net in (posenet, segnet):
        net.eval().requires_grad_(False).to(device)
    return posenet, segnet


# --- stand-in weights ------------------------------------------------------------------------

STANDIN_DIR = Path(__file__).with_name("standin")
STANDIN_SEGNET, STANDIN_RECIPE = "segnet.safetensors", "recipe.json"
STANDIN_POSENET_SEED = 0


def standin_weights() -> ScorerWeights:
    """The stand-in scorers: the official architectures, not the official weights.

    SegNet is shipped inside tac, trained on the synthetic world's classes
    (`python -m tac.contest.standin.train`; `standin_recipe()` says how). PoseNet is not trained
    yet (issue 14: from scratch on 2 CPU cores it never left the mean prediction), so it is still
    drawn from a seed with calibrated BatchNorm and cached per torch version. The weights id
    carries the sha256 of both files, so a result scored by other stand-ins is never an anchor.
    """
    seg_path = STANDIN_DIR / STANDIN_SEGNET
    if not seg_path.is_file():
        raise TacError(
            f"{seg_path}: the stand-in SegNet is missing from this install; reinstall tac"
        )
    pose_path = _seeded_posenet(STANDIN_POSENET_SEED)
    return ScorerWeights(
        pose_path, seg_path, sha256_file(pose_path), sha256_file(seg_path), "stand-in",
        STANDIN_POSENET_SEED,
    )  # fmt: skip


def standin_recipe() -> dict:
    """How the shipped stand-ins were made and how well they see held-out drives."""
    return json.loads((STANDIN_DIR / STANDIN_RECIPE).read_text())


CALIBRATION_SCENE_OFFSET = 1000  # a different drive than the demo clip's: no tuning on test data
CALIBRATION_NOISE = 60.0  # grey levels of seeded Gaussian noise added to calibration frames


def _seeded_posenet(seed: int) -> Path:
    """The cached file of `make_seeded_posenet(seed)`; its name carries the torch version because
    two versions may draw different weights from one seed."""
    path = (
        cache_dir("standin")
        / f"posenet-seed{seed}-torch{torch.__version__.split('+')[0]}.safetensors"
    )
    if not path.is_file():
        state = {
            k: v.detach().contiguous() for k, v in make_seeded_posenet(seed).state_dict().items()
        }
        # one metadata entry: safetensors writes a map's entries in a per-process random order,
        # and with two, two hosts drew the same weights into files of different sha256 (ids)
        atomic.write_bytes(path, save(state, metadata={"tac": f"stand-in posenet, seed {seed}"}))
    return path


def make_seeded_posenet(seed: int) -> PoseNet:
    """A random-init PoseNet whose BatchNorm statistics are calibrated on noisy synthetic drives.

    With default statistics (mean 0, var 1) activations blow up or die through depth, and a random
    network is either constant or chaotic: no damage, or every damage, moves its output. Running
    statistics measured on road-like frames keep every layer in range; measuring them with heavy
    noise added makes the fine-texture channels count for less, so the outputs move gradually as
    detail is lost (more downscaling, more distortion), the way the real scorer's do.
    """
    from tac.contest.frames import resize_for_scorers, rgb_to_yuv6
    from tac.video.demo import render_frame

    torch.manual_seed(seed)
    posenet = PoseNet()
    gen = torch.Generator().manual_seed(seed)
    scene = CALIBRATION_SCENE_OFFSET + seed
    times = range(0, 48, 6)  # 8 pairs spread over the drive
    frames = (
        torch.stack([torch.from_numpy(render_frame(t + dt, scene)) for t in times for dt in (0, 1)])
        .permute(0, 3, 1, 2)
        .float()
    )
    frames = (frames + torch.randn(frames.shape, generator=gen) * CALIBRATION_NOISE).clamp(0, 255)
    small = resize_for_scorers(frames)  # (16, 3, 384, 512): pairs (0,1), (2,3), ...
    pairs = rgb_to_yuv6(small).reshape(len(times), 12, 192, 256)
    return calibrate_batchnorm(posenet, pairs.split(4))
