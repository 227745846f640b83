"""Refusal codes: one table saying what each code means and which gate raises it.

Vectorised code works with small integers (0 = no refusal); records and tables get the code's
name and a sentence. The gate order here is the ladder's order: a candidate is refused by the
first gate that fails, and earlier gates outrank later ones when refused candidates are listed.
"""

from __future__ import annotations

from typing import get_args

from tac.records import RefusalCode

GATES: tuple[str, ...] = (
    "calibration",  # 1. enough anchors, inside their range, a fit that makes sense
    "coherence",  # 2. lossy never predicted (or measured) better than lossless
    "distortion_model",  # 3. a measured model for this codec / filter family
    "params",  # 4. a setting the lane and its encoder accept, on the anchors' axis
    "caps",  # 5. predicted bytes, inflate time and job cost within their caps
)

# code → (gate, what it means in one sentence; details are appended per candidate)
REFUSALS: dict[str, tuple[str, str]] = {
    "insufficient_anchors": ("calibration", "too few anchors to justify a band"),
    "extrapolation": ("calibration", "outside the range the anchors calibrate"),
    "non_monotone_fit": ("calibration", "the fit has quality knobs working backwards"),
    "lossy_better_than_lossless_incoherent": (
        "coherence",
        "a lossy setting would see better than the lossless floor",
    ),
    "missing_distortion_model": ("distortion_model", "no anchor measures this kind of setting"),
    "axis_mismatch": ("params", "not on the anchors' runner axis and scorer weights"),
    "invalid_params": ("params", "the lane or encoder cannot run this setting"),
    "over_bytes_cap": ("caps", "predicted archive bytes exceed the cap"),
    "over_inflate_time_cap": ("caps", "predicted inflate time exceeds the cap"),
    "over_cost_cap": ("caps", "predicted job cost exceeds the cap"),
}
assert set(REFUSALS) == set(get_args(RefusalCode)), "records and refusal table disagree"

CODES: tuple[str, ...] = ("",) + tuple(REFUSALS)  # index 0 = not refused
CODE = {name: i for i, name in enumerate(CODES)}
# The gate (1-based position in the ladder) of each code index; 0 for "not refused".
GATE_OF_CODE = [0] + [GATES.index(REFUSALS[c][0]) + 1 for c in REFUSALS]


def describe(code: str, detail: str = "") -> str:
    sentence = REFUSALS[code][1]
    return f"{sentence}: {detail}" if detail else sentence
