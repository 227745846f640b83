"""A synthetic run ledger, labelled as such, for the dashboard's tests and benchmarks.

Every event is built from the real records (JobSpec, Anchor, Rung) and appended through the real
`Ledger`, so a schema change breaks this writer, not silently the dashboard. Codec scores come
from `tac.search.synthetic.SyntheticWorld`, nerv learning curves from `nerv_terms`; weights say
`stand-in:…` and the run id starts with `synthetic-`, so nobody mistakes it for a measured run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

from tac.contest.score import contest_score, rate
from tac.control.ledger import Ledger
from tac.lanes.codec import CodecSearchParams, CodecTable
from tac.lanes.nerv.space import NervParams
from tac.records import Anchor, Candidate, JobLimits, JobSpec, LaneParams, Rung, WarmStart
from tac.search.synthetic import ORIGINAL_BYTES, SyntheticWorld

WEIGHTS = "stand-in:0:" + "5" * 16
T0 = 1_800_000_000.0  # fixed timestamps: the same ledger renders the same screen


def config(**over) -> dict:
    base = {"v": 1, "data": "demo", "weights": WEIGHTS, "runner_axis": "cpu", "max_cycles": 3,
            "max_total_cost": 1.0, "max_cost_per_cycle": 0.5, "max_cost_per_job": 0.2,
            "convergence_eps": 0.01, "patience": 2, "top_k": 2, "explore": 4}  # fmt: skip
    return base | over


class SyntheticRun:
    """Write a plausible run event by event: `explore`, `rank`, `job` … or `fill` for bulk."""

    def __init__(self, run_dir: str | os.PathLike, run_id: str = "synthetic-run", **config_over):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.run_dir, run_id)
        self.world = SyntheticWorld()
        self.cycle = 0
        self.spent = 0.0
        self.emit("run_started", config=config(**config_over))

    def emit(self, type: str, **payload) -> dict:
        return self.ledger.append(type, **payload)

    def close(self) -> None:
        self.ledger.close()
        path = self.ledger.path  # stamp synthetic times so the rendering is reproducible
        lines = path.read_text().splitlines()
        out = []
        for i, line in enumerate(lines):
            e = json.loads(line)
            e["ts"] = T0 + 0.5 * i
            out.append(json.dumps(e, separators=(",", ":")))
        path.write_text("\n".join(out) + "\n")

    def truth(self, p: CodecSearchParams) -> dict[str, float]:
        values = self.world.truth(CodecTable.from_params([p]))
        out = {k: float(v[0]) for k, v in values.items()}
        return out | {"score": float(self.world.score(values)[0])}

    # --- steps ------------------------------------------------------------------------------
    @staticmethod
    def params(crf: int, scale: float = 0.5) -> CodecSearchParams:
        return CodecSearchParams(codec="hevc", crf=crf, preset="medium", scale=scale)

    def start_cycle(self) -> int:
        self.cycle += 1
        self.emit("cycle_started", cycle=self.cycle)
        return self.cycle

    def rank(self, n: int = 200, eligible: int = 5, refusals: dict[str, int] | None = None) -> list[dict]:  # fmt: skip
        refusals = refusals or {"extrapolation": n - eligible - 20, "over_bytes_cap": 20}
        shown = []
        for r in range(eligible):
            p = self.params(26 + r, 0.5)
            mid = self.truth(p)["score"]
            shown.append({"id": p.id(), "rank": r + 1, "params": p.short(), "bytes": 20_000 + 1000 * r,
                          "band": [mid - 0.3, mid, mid + 0.35], "refusal": None, "reason": ""})  # fmt: skip
        for k, (code, _count) in enumerate(refusals.items()):
            p = self.params(45 + k, 0.9)
            shown.append({"id": p.id(), "rank": eligible + k + 1, "params": p.short(), "bytes": None,
                          "band": None, "refusal": code, "reason": f"{code}: crf beyond the hevc anchors' 18.0..40.0 (with margin)"})  # fmt: skip
        top = [{"id": s["id"], "lo": s["band"][0], "mid": s["band"][1], "hi": s["band"][2]} for s in shown[:2]]  # fmt: skip
        self.emit("ranked", cycle=self.cycle, n=n, eligible=eligible, refusals=refusals, top=top, shown=shown)  # fmt: skip
        return shown

    def explore(self, crfs: list[int]) -> list[str]:
        ids = [self.params(c).id() for c in crfs]
        self.emit("exploring", cycle=self.cycle, ids=ids, params=[self.params(c).short() for c in crfs], reason="the predictor refuses every candidate: calibrating with a space-filling set")  # fmt: skip
        return ids

    def dispatch(self, crf: int, host: str = "local", scale: float = 0.5, reserved: float = 0.05) -> str:  # fmt: skip
        return self.dispatch_params(self.params(crf, scale), host, reserved)

    def dispatch_params(self, p: LaneParams, host: str = "local", reserved: float = 0.05,
                        warm_start: WarmStart | None = None) -> str:  # fmt: skip
        """A job of any lane's setting (the loop's job id); `warm_start`: the checkpoint it continues."""
        cand = Candidate(id=p.id(), params=p, runner_axis="cpu", weights=WEIGHTS, ready=True)
        job_id = f"c{self.cycle:02d}-{cand.id}"
        spec = JobSpec(job_id=job_id, candidate=cand, data="demo", weights=WEIGHTS, runner_axis="cpu",
                       limits=JobLimits(timeout_s=600, max_cost=0.2), host=host, out_dir="/tmp/synthetic",
                       warm_start=warm_start)  # fmt: skip
        self.emit("reserved", job_id=job_id, amount=reserved, cycle=self.cycle)
        self.emit("dispatched", job_id=job_id, host=host, cycle=self.cycle, attempt=0, reserved=reserved,
                  spec=json.loads(spec.model_dump_json()))  # fmt: skip
        return job_id

    def beat(self, job_id: str, wall_s: float, line: str = "encoding…") -> None:
        self.emit("heartbeat", job_id=job_id, state="running", wall_s=wall_s, log_bytes=int(wall_s * 100))  # fmt: skip
        self.emit("log", job_id=job_id, bytes=int(wall_s * 100), last=line)

    def finish(self, job_id: str, crf: int, outcome: str = "ok", wall_s: float = 30.0, cost: float = 0.01, scale: float = 0.5) -> None:  # fmt: skip
        self.spent += cost
        self.emit("finished", job_id=job_id, outcome=outcome, cost=cost, wall_s=wall_s, detail="" if outcome == "ok" else "exit code 1")  # fmt: skip
        self.emit("budget", spent=self.spent, reserved=0.0, total_cap=1.0)
        if outcome != "ok":
            return
        p = self.params(crf, scale)
        self.emit("harvested", job_id=job_id, ok=True, reason="")
        t = self.truth(p)
        anchor = Anchor(id=p.id(), kind="lossy", params=p, runner_axis="cpu", weights=WEIGHTS,
                        archive_bytes=int(t["bytes"]), original_bytes=ORIGINAL_BYTES, pose=t["pose"],
                        seg=t["seg"], score=t["score"], archive_sha256="0" * 64)  # fmt: skip
        self.emit("anchor_added", job_id=job_id, anchor=json.loads(anchor.model_dump_json()))

    def rung(self, job_id: str, step: int, steps: int, score: float, band: list[float] | None = None,
             note: str = "", final: bool = False, *, seg: float = 0.05, pose: float = 0.5,
             archive_bytes: int = 30_000) -> Rung:  # fmt: skip
        """A running job's exact evaluation at a checkpoint, as the loop records it."""
        rung = Rung(step=step, steps=steps, score=score, seg=seg, pose=pose, archive_bytes=archive_bytes,
                    checkpoint=f"nerv/rungs/step-{step:06d}.safetensors",
                    checkpoint_sha256=hashlib.sha256(f"{job_id}/{step}".encode()).hexdigest(), final=final)  # fmt: skip
        self.emit("intermediate", job_id=job_id, rung=json.loads(rung.model_dump_json()), band=band, note=note)  # fmt: skip
        return rung

    def prune(self, job_id: str, step: int, rule: str, reason: str, wall_s: float = 20.0, cost: float = 0.01) -> None:  # fmt: skip
        """The loop stops a job on an intermediate result: `pruned`, then cancelled as such."""
        self.emit("pruned", job_id=job_id, step=step, rule=rule, reason=reason)
        self.spent += cost
        self.emit("finished", job_id=job_id, outcome="cancelled", cost=cost, wall_s=wall_s, detail=f"pruned: {reason}")  # fmt: skip
        self.emit("budget", spent=self.spent, reserved=0.0, total_cap=1.0)

    def finish_trained(self, job_id: str, p: LaneParams, final: Rung, wall_s: float = 60.0, cost: float = 0.02) -> None:  # fmt: skip
        """A training job that ran to the end: measured as its final rung says."""
        self.spent += cost
        self.emit("finished", job_id=job_id, outcome="ok", cost=cost, wall_s=wall_s, detail="")
        self.emit("budget", spent=self.spent, reserved=0.0, total_cap=1.0)
        self.emit("harvested", job_id=job_id, ok=True, reason="")
        anchor = Anchor(id=p.id(), kind="lossy", params=p, runner_axis="cpu", weights=WEIGHTS,
                        archive_bytes=final.archive_bytes, original_bytes=ORIGINAL_BYTES, pose=final.pose,
                        seg=final.seg, score=final.score, archive_sha256=hashlib.sha256(f"{job_id}/archive".encode()).hexdigest())  # fmt: skip
        self.emit("anchor_added", job_id=job_id, anchor=json.loads(anchor.model_dump_json()))

    def end_cycle(self, best: float | None) -> None:
        self.emit("cycle_finished", cycle=self.cycle, best=best)

    def fill(self, n_events: int) -> None:
        """Append heartbeats and logs of one long-running job until the ledger has ~n_events."""
        job = self.dispatch(33, host="gpu1")
        for i in range(max(0, (n_events - self.ledger.seq) // 2)):
            self.beat(job, wall_s=float(i), line=f"step {i}")


def mid_run(run_dir: str | os.PathLike, close: bool = True) -> SyntheticRun:
    """A run caught in its second cycle: four explored jobs (one failed), a ranking with
    refusals, one predicted pick measured and one still running on a GPU host."""
    run = SyntheticRun(run_dir)
    run.start_cycle()
    run.explore([22, 30, 38, 46])
    for crf, outcome in ((22, "ok"), (30, "ok"), (38, "ok"), (46, "failed")):
        job = run.dispatch(crf)
        run.beat(job, 10.0)
        run.finish(job, crf, outcome=outcome, cost=0.02)
    run.end_cycle(best=min(run.truth(run.params(c))["score"] for c in (22, 30, 38)))
    run.start_cycle()
    shown = run.rank()
    done = run.dispatch(26, host="gpu1", reserved=0.08)
    run.beat(done, 20.0, "training step 24/24")
    run.finish(done, 26, cost=0.03)
    running = run.dispatch(27, host="gpu1", reserved=0.08)
    run.beat(running, 12.0, "encoding frame 31/40")
    assert shown[0]["id"].startswith("hevc-crf26")
    if close:
        run.close()
    return run


def nerv_terms(p: NervParams, done: int) -> dict[str, float]:
    """A plausible nerv learning curve after `done` training steps (a warm start's count from
    its parent's checkpoint): seg and pose fall from an untrained decoder's towards a floor that
    a wider decoder lowers (and pays for in bytes). Step-0 scores are ~20x the final ones; a
    narrow decoder learns faster and stalls higher, so curves cross as real ones do."""
    floor, speed, trained = 36 / p.width, math.sqrt(36 / p.width), done / 1000
    seg = min(1.0, 0.02 * floor + 0.6 * math.exp(-4.0 * speed * trained))
    pose = 0.3 * floor + 6.0 * math.exp(-3.0 * speed * trained)
    nbytes = 400 * p.width + 300 * p.latent_dim
    return {"seg": seg, "pose": pose, "bytes": nbytes,
            "score": contest_score(seg, pose, rate(nbytes, ORIGINAL_BYTES))}  # fmt: skip


def train(run: SyntheticRun, job_id: str, p: NervParams, upto: int, every: int,
          bands: dict[int, list[float]] | None = None, note: str = "") -> Rung:  # fmt: skip
    """Rungs of `job_id` every `every` steps up to `upto` (the last one final once it reaches
    `p.steps`), each with its band from `bands` or, where there is none, the loop's `note`."""
    bands, rung = bands or {}, None
    for step in range(0, upto + 1, every):
        t, band = nerv_terms(p, p.parent_steps + step), bands.get(step)
        final = step == p.steps
        why = "the checkpoint its submission is built from" if final else band_words(band) if band else note.format(f=step / p.steps)  # fmt: skip
        rung = run.rung(job_id, step, p.steps, t["score"], band, why, final=final,
                        seg=t["seg"], pose=t["pose"], archive_bytes=int(t["bytes"]))  # fmt: skip
    assert rung is not None
    return rung


def band_words(band: list[float], n_curves: int = 2) -> str:  # as tac.search.curves.RungBand
    return f"final in [{band[0]:.4g}, {band[2]:.4g}] from {n_curves} finished curves"


def fidelity_run(run_dir: str | os.PathLike, close: bool = True) -> SyntheticRun:
    """A nerv run of the multi-fidelity loop: two jobs trained to the end, then one pruned
    on its band at 40%, one warm start from the first job's checkpoint and one still running."""
    run = SyntheticRun(run_dir, max_cycles=2)
    run.start_cycle()
    a, b = NervParams(width=36, steps=1000), NervParams(width=48, steps=1000)
    finals = {}
    for p, host in ((a, "gpu1"), (b, "gpu2")):
        job = run.dispatch_params(p, host=host, reserved=0.08)
        final = train(run, job, p, 1000, 200, note="0 finished curves reach fidelity {f:.2f}; a band needs 2")  # fmt: skip
        run.finish_trained(job, p, final)
        finals[p.id()] = (job, final)
    best = min(f.score for _, f in finals.values())
    run.end_cycle(best=best)
    run.start_cycle()
    c = NervParams(width=24, steps=1000)
    pruned = run.dispatch_params(c, host="gpu1", reserved=0.08)
    mid = 1.1 * nerv_terms(c, 1000)["score"]  # what the two curves say: no better than the best
    bands = {step: [mid * 0.93, mid, mid * 1.15] for step in (200, 400)}
    last = train(run, pruned, c, 400, 200, bands)
    run.prune(pruned, 400, "band", f"at step 400/1000 its exact score {last.score:.4f} puts its {band_words(bands[400])}: it cannot beat the best {best:.4f}")  # fmt: skip
    parent_job, parent_final = finals[a.id()]
    warm = NervParams(width=36, steps=500, parent=a.id(), parent_steps=1000)
    child = run.dispatch_params(warm, host="gpu2", reserved=0.05, warm_start=WarmStart(
        parent_job=parent_job, candidate=a.id(), sha256=parent_final.checkpoint_sha256, bytes=2_000_000))  # fmt: skip
    final = train(run, child, warm, 500, 100, note="0 finished curves reach fidelity {f:.2f}; a band needs 2")  # fmt: skip
    run.finish_trained(child, warm, final, wall_s=30.0, cost=0.01)
    d = NervParams(width=40, steps=1000)
    running = run.dispatch_params(d, host="gpu1", reserved=0.08)
    mid = nerv_terms(d, 1000)["score"]
    train(run, running, d, 600, 200, {s: [mid * 0.85, mid, mid * 1.2] for s in (200, 400, 600)})
    run.beat(running, 40.0, "step 600/1000: exact evaluation done")
    if close:
        run.close()
    return run
