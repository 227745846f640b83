"""The two frozen scorer networks, built exactly as the official `modules.py` builds them.

Attribute names and module order matter: the official safetensors load with `strict=True` only
into this exact structure (`vision.*`, `summarizer.*`, `hydra.*`, `_mean`, `_std` for PoseNet; a
plain smp `Unet` for SegNet).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from tac.contest import constants as C

BN_EPS = 0.001
BN_MOMENTUM = 0.01
VISION_FEATURES = 2048
SUMMARY_FEATURES = 512
POSE_HEAD_HIDDEN = 32
ACT_LAYER = "gelu_tanh"


class AllNorm(nn.Module):
    """BatchNorm over ONE feature, applied to the flattened tensor."""

    def __init__(self, num_features: int, eps: float = BN_EPS, momentum: float = BN_MOMENTUM):
        super().__init__()
        self.bn = nn.BatchNorm1d(1, eps, momentum, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # reshape, not view: a training path hands us non-contiguous tensors.
        return self.bn(x.reshape(-1, 1)).reshape(x.shape)


class ResBlock(nn.Module):
    def __init__(self, feats: int, expansion: int = 2):
        super().__init__()
        wide = feats * expansion
        self.block_a = nn.Sequential(
            nn.Linear(feats, wide), AllNorm(wide), nn.ReLU(), nn.Linear(wide, feats), AllNorm(feats)
        )
        self.block_b = nn.Sequential(
            nn.ReLU(),
            nn.Linear(feats, wide),
            AllNorm(wide),
            nn.ReLU(),
            nn.Linear(wide, feats),
            AllNorm(feats),
        )
        self.final_relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x + self.block_a(x)
        # The official block_b opens with ReLU(inplace=True), which rectifies `a` itself before
        # the residual sum is taken: the effective sum is relu(a) + block_b(a), not a + block_b(a).
        a = torch.relu(a)
        return self.final_relu(a + self.block_b(a))


class Hydra(nn.Module):
    """A shared ResBlock, then one small head per output; the contest uses only `pose`."""

    def __init__(self, num_features: int, heads: dict[str, tuple[int, int]] | None = None):
        super().__init__()
        heads = heads or {"pose": (POSE_HEAD_HIDDEN, C.POSE_OUTPUTS)}
        self.resblock = ResBlock(num_features)
        self.relu = nn.ReLU()
        self.in_layer = nn.ModuleDict(
            {k: nn.Linear(num_features, h) for k, (h, _) in heads.items()}
        )
        self.res_layer = nn.ModuleDict(
            {
                k: nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h))
                for k, (h, _) in heads.items()
            }
        )
        self.final_layer = nn.ModuleDict({k: nn.Linear(h, o) for k, (h, o) in heads.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.resblock(x)
        out = {}
        for k in self.in_layer:
            h = self.relu(self.in_layer[k](x))
            h = self.relu(h + self.res_layer[k](h))
            out[k] = self.final_layer[k](h)
        return out


class PoseNet(nn.Module):
    """fastvit_t12 on two stacked YUV6 frames → summarizer → hydra; input (B, 12, 192, 256)."""

    def __init__(self):
        # timm imports torchvision and with it torch._dynamo (about a second on 2 cores): only
        # where a network is built, so a job pays it while its inflate runs, not at start-up.
        import timm

        super().__init__()
        shape = (1, C.POSE_IN_CHANNELS, 1, 1)
        self.register_buffer("_mean", torch.full(shape, C.POSE_MEAN), persistent=True)
        self.register_buffer("_std", torch.full(shape, C.POSE_STD), persistent=True)
        self.vision = timm.create_model(
            "fastvit_t12",
            pretrained=False,
            num_classes=VISION_FEATURES,
            in_chans=C.POSE_IN_CHANNELS,
            act_layer=timm.layers.get_act_layer(ACT_LAYER),
        )
        self.summarizer = nn.Sequential(
            nn.Linear(VISION_FEATURES, SUMMARY_FEATURES), nn.ReLU(), ResBlock(SUMMARY_FEATURES)
        )
        self.hydra = Hydra(SUMMARY_FEATURES)

    def forward(self, yuv6_pair: torch.Tensor) -> torch.Tensor:
        """Returns the raw `pose` head, (B, 12)."""
        x = self.vision((yuv6_pair - self._mean) / self._std)
        return self.hydra(self.summarizer(x))["pose"]


def SegNet() -> nn.Module:
    """smp Unet on an EfficientNet-B2 (timm) encoder, 5 classes, raw logits; input (B, 3, 384, 512)."""
    import segmentation_models_pytorch as smp  # heavy import, only where SegNet is built

    return smp.Unet(
        "tu-efficientnet_b2", classes=C.SEG_CLASSES, activation=None, encoder_weights=None
    )


@torch.no_grad()
def calibrate_batchnorm(net: nn.Module, batches, device: str = "cpu") -> nn.Module:
    """Re-measure every BatchNorm's running statistics as the cumulative mean over `batches`.

    Used for the stand-ins: a random network's default statistics make it constant or chaotic,
    and a trained one's should match its final weights. Momenta are restored; returns the net
    in eval mode.
    """
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    net.train()
    for x in batches:
        net(x.to(device))
    for m, momentum in zip(bns, saved, strict=True):
        m.momentum = momentum
    return net.eval()
