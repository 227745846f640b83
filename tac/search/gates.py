"""The sanity-gate ladder every candidate climbs before it may be dispatched, and `preflight`,
the structural check of a JobSpec before it may spend money.

Gates run in a fixed order (`tac.search.refusals.GATES`); a candidate stops at the first one it
fails, and that gate's code and sentence become its refusal:

  1 calibration       enough anchors, inside their range, a monotone fit     (from the predictor)
  2 coherence         lossy never better than the lossless floor             (from the predictor)
  3 distortion_model  a measured model for this group and variant            (from the predictor)
  4 params            a setting the lane accepts (its own rule), on the anchors' axis
  5 caps              predicted bytes, inflate time and job cost within their caps
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tac.records import JobSpec
from tac.search.lagrangian import Caps
from tac.search.refusals import CODE, CODES, GATE_OF_CODE, GATES
from tac.search.space import CandidateTable


def invalid_params(t: CandidateTable) -> np.ndarray:
    """True where a row's lane cannot run its setting (each lane's own rule)."""
    return t.invalid()


@dataclass
class Ladder:
    """Per-candidate refusal code (0 = passed every gate) and a per-gate account."""

    code: np.ndarray
    detail: dict[tuple[int, int], str]  # (code, table group) → sentence detail

    @property
    def gate(self) -> np.ndarray:
        """1-based gate that refused each candidate; 0 = passed all."""
        return np.asarray(GATE_OF_CODE, dtype=np.int8)[self.code]

    def summary(self) -> list[tuple[str, int, dict[str, int]]]:
        """[(gate, candidates that passed it, {code: refused here})] in ladder order."""
        gate = self.gate
        out, alive = [], len(self.code)
        for i, name in enumerate(GATES, start=1):
            here = self.code[gate == i]
            counts = {
                CODES[k]: int(n) for k, n in zip(*np.unique(here, return_counts=True), strict=True)
            }
            alive -= len(here)
            out.append((name, alive, counts))
        return out


def run_ladder(
    t: CandidateTable,
    predictor_code: np.ndarray,
    predictor_detail: dict[tuple[int, int], str],
    axis_ok: bool,
    values: dict[str, np.ndarray],
    caps: Caps,
) -> Ladder:
    """Combine the predictor's gates (1-3) with params (4) and caps (5), first failure wins."""
    code = predictor_code.astype(np.int8).copy()
    detail = dict(predictor_detail)

    def refuse(mask: np.ndarray, name: str, text) -> None:
        """`text`: the detail, or a function of the row's group that gives it."""
        mask = mask & (code == 0)
        code[mask] = CODE[name]
        for c in np.unique(t.group[mask]):
            detail.setdefault((CODE[name], int(c)), text(int(c)) if callable(text) else text)

    if not axis_ok:
        refuse(
            np.ones(len(t), bool),
            "axis_mismatch",
            "candidates and anchors were measured differently",
        )
    refuse(invalid_params(t), "invalid_params", t.invalid_reason)
    for name, code_name, unit in (("bytes", "over_bytes_cap", "B"), ("inflate_s", "over_inflate_time_cap", "s"), ("cost", "over_cost_cap", "")):  # fmt: skip
        cap = caps.get(name)
        if cap is not None:
            refuse(values[name] > cap, code_name, f"cap {cap:,.4g}{unit}")
    return Ladder(code, detail)


# --- preflight --------------------------------------------------------------------------------

WEIGHTS_ID = re.compile(r"^(official|custom:[0-9a-f]{64}|stand-in:\d+:[0-9a-f]{16,64})$")
MAX_TIMEOUT_S = 24 * 3600


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def preflight(spec: JobSpec) -> list[Check]:
    """Every structural invariant a job must satisfy before it may spend money, each with a
    message. The job may run only if every check is ok."""
    cand = spec.candidate
    checks: list[Check] = []

    def check(name: str, ok: bool, good: str, bad: str) -> None:
        checks.append(Check(name, bool(ok), good if ok else bad))

    check("ready", cand.ready and cand.refusal is None,
          "an exploration pick (params and caps checked)" if cand.purpose == "explore" else "the candidate passed every gate",
          f"candidate {cand.id} did not pass the gates"
          + (f" ({cand.refusal.code}: {cand.refusal.message})" if cand.refusal else ""))  # fmt: skip
    check("axis", cand.runner_axis == spec.runner_axis,
          f"runner axis {spec.runner_axis}",
          f"the job runs on axis {spec.runner_axis} but the candidate was ranked on {cand.runner_axis}")  # fmt: skip
    check("weights", WEIGHTS_ID.match(spec.weights) is not None and cand.weights == spec.weights,
          f"scorer weights {spec.weights}",
          f"weights {spec.weights!r} must be official, custom:<sha256> or stand-in:<seed>:<sha> "
          f"and match the candidate's {cand.weights!r}")  # fmt: skip
    valid = not invalid_params(CandidateTable.from_params([cand.params]))[0]
    check("params", valid, f"{cand.id} is a valid {cand.lane}-lane setting",
          f"{cand.id}: the {cand.lane} lane cannot run this setting")  # fmt: skip
    if spec.data == "challenge":
        root = Path(spec.challenge_dir or "")
        ok = bool(spec.challenge_dir) and (root / "videos").is_dir()
        check("data", ok, f"challenge checkout {root}",
              f"challenge_dir {spec.challenge_dir!r} has no videos/ directory; point it at a checkout of the challenge repository")  # fmt: skip
    else:
        check("data", True, "the embedded demo clip", "")
    lim = spec.limits
    check("timeout", 0 < lim.timeout_s <= MAX_TIMEOUT_S, f"timeout {lim.timeout_s:.0f} s",
          f"timeout {lim.timeout_s} s must be in (0, {MAX_TIMEOUT_S}]")  # fmt: skip
    predicted = cand_cost = spec.predicted_cost
    check("cost", predicted is None or cand_cost <= lim.max_cost,
          f"predicted cost {predicted or 0:.2f} within {lim.max_cost:.2f}",
          f"predicted cost {predicted} exceeds the job's max_cost {lim.max_cost}")  # fmt: skip
    out = Path(spec.out_dir)
    if spec.host != "local":  # a path on another machine: its backend creates it there
        check("out_dir", out.is_absolute(), f"output {spec.host}:{out}", f"out_dir {out} must be absolute")  # fmt: skip
        return checks
    fresh = out.is_absolute() and (not out.exists() or (out.is_dir() and not any(out.iterdir())))
    check("out_dir", fresh, f"output {out}",
          f"out_dir {out} must be an absolute path to a new or empty directory")  # fmt: skip
    return checks
