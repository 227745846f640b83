"""What each encoder accepts (crf range, presets, knobs): plain data, no codec library imported.

The codec lane validates settings against this table, and the search engine (numpy only) checks
whole candidate arrays against it without loading PyAV or torch.
"""

from __future__ import annotations

from dataclasses import dataclass

X26X_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip


@dataclass(frozen=True)
class EncoderSpec:
    """What one encoder accepts, as exposed through PyAV."""

    encoder: str  # the libavcodec encoder name
    crf_range: tuple[int, int]
    presets: tuple[str, ...]
    bframes: bool  # whether b-frames are a knob of this encoder
    film_grain: bool  # AV1 film-grain synthesis
    pix_fmts: tuple[str, ...] = ("yuv420p", "yuv420p10le")


ENCODERS: dict[str, EncoderSpec] = {
    "hevc": EncoderSpec("libx265", (0, 51), X26X_PRESETS, bframes=True, film_grain=False),
    "av1": EncoderSpec("libsvtav1", (1, 63), tuple(str(p) for p in range(0, 14)), False, True),
    "h264": EncoderSpec("libx264", (0, 51), X26X_PRESETS, bframes=True, film_grain=False),
}


INVALID_PRESET = 99  # the index of a preset the encoder does not have (refused by a search gate)


def preset_index(codec: str, preset: str) -> int:
    """Position of `preset` in its encoder's list (x26x: ultrafast = 0; av1: the number)."""
    spec = ENCODERS.get(codec)
    if spec is None or preset not in spec.presets:
        return INVALID_PRESET
    return spec.presets.index(preset)
