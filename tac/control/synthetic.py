"""A synthetic run ledger, labelled as such, for the dashboard's tests and benchmarks.

Every event is built from the real records (JobSpec, Anchor) and appended through the real
`Ledger`, so a schema change breaks this writer, not silently the dashboard. Scores come from
`tac.search.synthetic.SyntheticWorld`; weights say `stand-in:…` and the run id starts with
`synthetic-`, so nobody mistakes it for a measured run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tac.control.ledger import Ledger
from tac.lanes.codec import CodecSearchParams, CodecTable
from tac.records import Anchor, Candidate, JobLimits, JobSpec
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
        p = self.params(crf, scale)
        cand = Candidate(id=p.id(), params=p, runner_axis="cpu", weights=WEIGHTS, ready=True)
        job_id = f"c{self.cycle:02d}-{cand.id}"
        spec = JobSpec(job_id=job_id, candidate=cand, data="demo", weights=WEIGHTS, runner_axis="cpu",
                       limits=JobLimits(timeout_s=600, max_cost=0.2), host=host, out_dir="/tmp/synthetic")  # fmt: skip
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
