"""Harvest: a finished job's result becomes an anchor only if it survives cross-verification.

An anchor calibrates every later prediction, so a wrong one is worse than none. A result must be
an exact, full-sample evaluation; its score must be what its own terms give; the archive its
host holds must hash to what the result claims; and it must be on the axis and weights the job
asked for. Anything else is recorded with the reason it was not harvested.
"""

from __future__ import annotations

import math

from pydantic import ValidationError

from tac.contest.score import contest_score
from tac.control.backends.base import Fetched
from tac.records import Anchor, EvalResult, JobSpec, first_error


def verify(spec: JobSpec, fetched: Fetched) -> tuple[Anchor | None, str]:
    """(anchor, "") when the result is authoritative and consistent, else (None, why not)."""
    try:
        r = EvalResult.model_validate(fetched.result)
    except ValidationError as exc:
        return None, f"result.json is not a valid EvalResult ({first_error(exc)})"
    if not r.authoritative:
        return (
            None,
            f"an estimate ({r.n_samples}/{r.n_samples_total} samples), not an exact evaluation",
        )
    rate = r.archive_bytes / r.original_bytes
    if not math.isclose(r.rate, rate, rel_tol=1e-9):
        return None, f"rate {r.rate} is not archive/original bytes ({rate})"
    recomputed = contest_score(r.seg, r.pose, r.rate)
    if not math.isclose(r.score, recomputed, rel_tol=1e-9, abs_tol=1e-12):
        return None, f"score {r.score} is not what its terms give ({recomputed})"
    if fetched.archive_sha256 != r.archive_sha256:
        return None, "the archive on the host does not hash to the result's archive_sha256"
    if fetched.archive_bytes != r.archive_bytes:
        return (
            None,
            f"the archive on the host is {fetched.archive_bytes} bytes, the result says {r.archive_bytes}",
        )
    if r.runner_axis != spec.runner_axis:
        return None, f"measured on axis {r.runner_axis}, the job asked for {spec.runner_axis}"
    if r.weights != spec.weights:
        return None, f"scored with {r.weights}, the job asked for {spec.weights}"
    return Anchor.from_result(r, spec.candidate.params, id=spec.candidate.id), ""
