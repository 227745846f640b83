"""The multi-fidelity loop: a running job's intermediate results, judged; warm starts' checkpoints.

A training job prints each exact evaluation it makes at a checkpoint as a rung line in its log
(`tac.records.rung_line`). The loop finds them in the log it mirrors, records each once as an
`intermediate` event with a band for the job's final score (`tac.search.curves`, learned from
this run's finished jobs of the same lane), and stops the job when the `--prune` rule says it
cannot win. A candidate that continues from an earlier job's checkpoint (`LaneParams.warm_from`)
gets that checkpoint fetched from the parent's host once, kept in RUN_DIR/checkpoints/ by
sha256, and placed beside the child on whichever host runs it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from tac import atomic
from tac.control.backends.base import Backend, BackendError
from tac.control.ledger import JobState, RunState
from tac.records import WARM_START_FILE, JobSpec, Rung, WarmStart, rungs_in
from tac.search.curves import Curve, halving_keeps, halving_rung, rung_band

PRUNE_RULES = ("off", "band", "halving")


class RungLines:
    """The rungs in each job's log, read piece by piece as it is mirrored: a line the job has
    not finished writing waits for the rest."""

    def __init__(self) -> None:
        self._tail: dict[str, str] = {}

    def first_look(self, job_id: str) -> bool:
        """True once per job: this controller has read nothing of its log yet."""
        first = job_id not in self._tail
        self._tail.setdefault(job_id, "")
        return first

    def feed(self, job_id: str, text: str) -> list[Rung]:
        complete, _, self._tail[job_id] = (self._tail.get(job_id, "") + text).rpartition("\n")
        return rungs_in(complete)


@dataclass(frozen=True)
class Judgement:
    band: list[float] | None  # lo, mid, hi of the final score
    note: str  # how the band was learned, or why there is none
    prune: tuple[str, str] | None = None  # (rule, reason) when the job must stop


def _peers(state: RunState, job: JobState) -> list[JobState]:
    """Jobs whose curves say something about `job`'s: same lane, both warm or both cold."""
    lane, warm = job.spec.candidate.lane, job.spec.warm_start is not None
    return [j for j in state.jobs.values() if j is not job and j.spec.candidate.lane == lane
            and (j.spec.warm_start is not None) == warm]  # fmt: skip


def curves(state: RunState, job: JobState) -> list[Curve]:
    """The learning curves of the peers that ran to the end and were measured."""
    finals = {a.id: a.score for a in state.measured()}
    out = []
    for peer in _peers(state, job):
        points = sorted({r.fidelity: r.score for r in peer.rungs if not r.final}.items())
        if peer.harvested and peer.candidate_id in finals and points:
            f, s = map(np.array, zip(*points, strict=True))
            out.append(Curve(f, s, finals[peer.candidate_id]))
    return out


def judge(state: RunState, job: JobState, rung: Rung, rule: str, eta: int = 3) -> Judgement:
    """The band of `job`'s final score given its new `rung`, and whether `rule` stops it."""
    if rung.final:
        return Judgement(None, "the checkpoint its submission is built from")
    band = rung_band(curves(state, job), rung.fidelity, rung.score)
    measured = state.measured()
    best = measured[0].score if measured else None
    where = f"at step {rung.step}/{rung.steps} its exact score {rung.score:.4f}"
    if isinstance(band, str):
        judged = Judgement(None, band)
    else:
        judged = Judgement([band.lo, band.mid, band.hi], band.words())
        if rule == "band" and best is not None and band.lo > best:
            why = f"{where} puts its {band.words()}: it cannot beat the best {best:.4f}"
            return Judgement(judged.band, judged.note, ("band", why))
    if rule == "halving" and (k := halving_rung(rung.fidelity, eta)) is not None:
        if any(halving_rung(r.fidelity, eta) == k for r in job.rungs if not r.final):
            return judged  # judged at this rung already
        at_rung = [rung.score] + [first for p in _peers(state, job)
                                  if (first := _first_at(p, k, eta)) is not None]  # fmt: skip
        if not halving_keeps(rung.score, at_rung, eta):
            why = f"{where} is not among the best 1/{eta} of the {len(at_rung)} jobs that reached fidelity {eta ** -k:.3g}"  # fmt: skip
            return Judgement(judged.band, judged.note, ("halving", why))
    return judged


def _first_at(job: JobState, k: int, eta: int) -> float | None:
    return next((r.score for r in job.rungs if not r.final and halving_rung(r.fidelity, eta) == k), None)  # fmt: skip


# --- warm starts ---------------------------------------------------------------------------------
def checkpoint_cache(run_dir: Path, sha256: str) -> Path:
    """Where the run keeps a checkpoint it carries (its card, if any, beside it as .json)."""
    return run_dir / "checkpoints" / f"{sha256}.safetensors"


async def place_warm_start(run_dir: Path, backend: Backend, spec: JobSpec) -> None:
    """Put the checkpoint (and card) a job's warm start names into its out dir on its host,
    from the run's cache; nothing for a cold start."""
    if (warm := spec.warm_start) is None:
        return
    cached = checkpoint_cache(run_dir, warm.sha256)
    files = [(cached, WARM_START_FILE)]
    if warm.card_sha256 is not None:
        files.append((cached.with_suffix(".json"), str(PurePosixPath(WARM_START_FILE).with_suffix(".json"))))  # fmt: skip
    for local, name in files:
        await backend.put_file(spec.job_id, name, await asyncio.to_thread(local.read_bytes))


async def warm_start_for(run_dir: Path, state: RunState, parent: str, backends: dict[str, Backend]) -> WarmStart | str:  # fmt: skip
    """The warm start from `parent`'s final checkpoint, fetched into the run's cache if it is
    not there yet; or why there can be none."""
    found = state.checkpoint_of(parent)
    if found is None:
        return f"warm start: no job of this run measured {parent} and kept its checkpoint"
    job, rung = found
    cached = checkpoint_cache(run_dir, rung.checkpoint_sha256)
    wanted = [(rung.checkpoint, rung.checkpoint_sha256, cached)]
    if rung.card is not None:
        wanted.append((rung.card, rung.card_sha256, cached.with_suffix(".json")))
    for path, sha, local in wanted:
        if local.is_file():
            continue
        backend = backends.get(job.host)
        if backend is None:
            return f"warm start: {parent}'s checkpoint is on host {job.host}, which is not configured any more"  # fmt: skip
        try:
            data = await backend.get_file(job.job_id, path)
        except BackendError as exc:
            return f"warm start: could not fetch {parent}'s checkpoint ({exc})"
        if hashlib.sha256(data).hexdigest() != sha:
            return f"warm start: {job.job_id}/{path} is not what the job reported (sha256 differs)"
        local.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(atomic.write_bytes, local, data)
    return WarmStart(parent_job=job.job_id, candidate=parent, sha256=rung.checkpoint_sha256,
                     bytes=cached.stat().st_size, card_sha256=rung.card_sha256)  # fmt: skip
