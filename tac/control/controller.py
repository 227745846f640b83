"""The asyncio loop: rank → gate → reserve → dispatch top-K → harvest → recalibrate, repeated.

Crash-safety comes from the ledger: every decision is appended, and is on disk before anything
outside this process acts on it — a job is recorded as dispatched before it is submitted, a grown
reservation before the host's lease follows it, and submission is idempotent by job id — so a controller started with `resume` replays the ledger, reattaches the jobs still
running, harvests those that finished while it was down, and never dispatches or pays twice.
The fsyncs happen in the ledger's writer thread, and the controller's other file work (specs,
results, mirrored logs, the steering inbox) in worker threads, so a slow disk delays no poll
and no lease top-up (bench_controller measures the event loop's lag under one).
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tac import atomic
from tac.control import budget as B
from tac.control import fidelity, joblog
from tac.control.backends.base import Backend, BackendError, JobStatus
from tac.control.config import LoopConfig
from tac.control.events import Event
from tac.control.harvest import verify
from tac.control.ledger import INTERRUPTED, Ledger, RunState, fold, read_ledger
from tac.control.plan import job_frames, plan_cycle
from tac.control.slots import Slots
from tac.control.steering import SteeredLoop
from tac.records import Anchor, Candidate, JobLimits, JobSpec, save_records
from tac.search import Caps, CostModel, MetaLagrangianSearch, preflight
from tac.search.space import CandidateTable

HEARTBEAT_S = 5.0


class Controller(SteeredLoop):
    def __init__(
        self,
        run_dir: str | Path,
        config: LoopConfig,
        backends: list[Backend],
        log: Callable[[str], None] = lambda m: None,
        on_event: Callable[[Event], None] = lambda e: None,
        seed_anchors: list[Anchor] = (),
        ledger_write_behind: bool = True,
    ):
        self.run_dir = Path(run_dir)
        self.config = config
        self.backends = {b.name: b for b in backends}
        self.log = log
        self.on_event = on_event
        self.seed_anchors = list(seed_anchors)  # a new run starts calibrated with these
        # the ledger's fsyncs run in a thread, so a slow disk never delays a poll or a lease
        # top-up; what was appended is made durable before anything acts on it outside
        self.ledger_write_behind = ledger_write_behind
        self.stop_reason = ""
        self._interrupts = 0
        self.paused = False  # steering: no new dispatches while set
        self._cancel_running = False  # interrupted or stopped by request: cancel every running job
        self._cancel_requested: set[str] = set()
        self.rung_lines = fidelity.RungLines()
        self._unlogged: dict[str, tuple[int, str]] = {}  # mirrored, not yet in a `log` event
        self.slots = Slots(backends, config.runner_axis)
        self._money = asyncio.Lock()
        self.caps = B.Caps(
            total=config.max_total_cost if config.max_total_cost is not None else math.inf,
            per_cycle=config.max_cost_per_cycle if config.max_cost_per_cycle is not None else math.inf,
            per_job=config.max_cost_per_job if config.max_cost_per_job is not None else math.inf,
        )  # fmt: skip
        self.search = MetaLagrangianSearch(
            Caps(bytes=config.max_bytes, inflate_s=config.max_inflate_s), risk=config.risk
        )

    # --- ledger -----------------------------------------------------------------------------
    def _event(self, type: str, **payload) -> Event:
        e = self.ledger.append(type, **payload)
        self.state.apply(e)
        self.on_event(e)
        return e

    # --- the loop ---------------------------------------------------------------------------
    async def run(self) -> RunState:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        read = read_ledger(self.run_dir / "ledger.jsonl")
        if read.unreadable:
            self.log(read.note(self.run_dir / "ledger.jsonl"))
        self.state = fold(read.events)
        run_id = self.state.run_id or self.run_dir.name
        if self.state.finished and self.state.cycles_finished >= self.config.max_cycles:
            self.log(f"run {run_id} already finished ({self.state.stop_reason}); "
                     f"continue it with --max-cycles above {self.state.cycles_finished}")  # fmt: skip
            return self.state
        self.ledger = Ledger(self.run_dir, run_id, write_behind=self.ledger_write_behind)
        self._install_signals()
        try:
            config = json.loads(self.config.model_dump_json())
            if not self.state.run_id:
                await asyncio.to_thread(atomic.write_json, self.run_dir / "config.json", config)
                self._event("run_started", config=config)
                for anchor in self.seed_anchors:
                    self._event("anchor_added", job_id=None, anchor=anchor, source=self.config.anchors_file)  # fmt: skip
            else:
                extended = self.config.max_cycles != self.state.config.get("max_cycles")
                self._event("resumed", running=[j.job_id for j in self.state.running],
                            max_cycles=self.config.max_cycles if extended else None)  # fmt: skip
                if extended:
                    await asyncio.to_thread(atomic.write_json, self.run_dir / "config.json", config)
                await self._harvest_pending(self.state.jobs.values())
            if self.state.multipliers:
                self.search.multipliers.update(self.state.multipliers)
            self.paused = self.state.paused
            self._set_caps(self.state.caps)  # as steering last left them
            steering = asyncio.create_task(self._steer())
            while not self.stop_reason:
                if self.state.cycle > self.state.cycles_finished:
                    await self._finish_cycle(self.state.cycle)  # resumed mid-cycle
                    continue
                if self.state.cycle >= self.config.max_cycles:
                    self.stop_reason = f"reached --max-cycles {self.config.max_cycles}"
                    break
                await self._cycle(self.state.cycle + 1)
        finally:
            await self._shutdown()
            if "steering" in locals():
                steering.cancel()
        return self.state

    async def _cycle(self, cycle: int) -> None:
        self._event("cycle_started", cycle=cycle)
        await self._while_paused()
        picks = self._plan(cycle) if not self.stop_reason else []
        if not picks and not self.stop_reason:
            self.stop_reason = "no eligible candidate left to evaluate"
        await asyncio.gather(*(self._run_job(cycle, c) for c in picks))
        await self._finish_cycle(cycle)

    async def _finish_cycle(self, cycle: int) -> None:
        # after a resume: wait for this cycle's jobs still running, retry its lost ones whose
        # retry was never dispatched, and harvest lost ones whose host finished them anyway
        jobs = [j for j in self.state.jobs.values() if j.cycle == cycle]
        await asyncio.gather(
            *(self._reattach(j.job_id) for j in jobs if not j.finished),
            *(self._retry(j.job_id) for j in jobs if self._needs_retry(j.job_id)),
        )
        await self._harvest_pending([j for j in self.state.jobs.values() if j.cycle == cycle])
        observed = {"bytes": [a.archive_bytes for a in self._cycle_anchors(cycle)]}
        if any(observed.values()):
            self.search.update(observed)
            self._event("multipliers", values=dict(self.search.multipliers))
        measured = self.state.measured()
        best = measured[0].score if measured else None
        self._event("cycle_finished", cycle=cycle, best=best)
        self._check_convergence()

    def _cycle_anchors(self, cycle: int):
        ids = {j.candidate_id for j in self.state.jobs.values() if j.cycle == cycle and j.harvested}
        return [a for a in self.state.anchors if a.id in ids]

    def _check_convergence(self) -> None:
        eps, p, best = self.config.convergence_eps, self.config.patience, self.state.best
        if eps > 0 and len(best) > p and best[-p - 1] - best[-1] < eps:
            self.stop_reason = f"converged: best improved by less than {eps} over {p} cycles"
            self._event("converged", reason=self.stop_reason)

    # --- planning ---------------------------------------------------------------------------
    def _plan(self, cycle: int) -> list[Candidate]:
        # ranked at the priciest backend's rate and device; each dispatch is priced again, and its
        # reservation checked, on the backend it lands on
        priciest = max(self.backends.values(), key=lambda b: b.price_per_hour, default=None)
        price = priciest.price_per_hour if priciest else 0.0
        plan = plan_cycle(self.config, self.state, self.search, price, priciest.cost_device if priciest else "cpu")  # fmt: skip
        if plan.ranked is not None:
            self._event("ranked", cycle=cycle, **plan.ranked)
        if plan.exploring is not None:
            self._event("exploring", cycle=cycle, **plan.exploring)
        return plan.picks

    # --- one job ------------------------------------------------------------------------------
    async def _reattach(self, job_id: str) -> None:
        """Watch a job dispatched before a restart; it holds its host's slot while it runs."""
        host = self.state.jobs[job_id].host
        if host not in self.backends:
            return await self._watch(job_id)
        async with self.slots.hold(host):
            await self._watch(job_id)
        await self._retry(job_id)

    async def _run_job(self, cycle: int, cand: Candidate, attempt: int = 0) -> None:
        async with self.slots.hold() as backend:
            if self.stop_reason:
                return
            job_id = f"c{cycle:02d}-{cand.id}" + (f"-r{attempt}" if attempt else "")
            cost = CostModel(frames=job_frames(self.config), price_per_hour=backend.price_per_hour, device=backend.cost_device)  # fmt: skip
            predicted = float(cost.job_cost(CandidateTable.from_params([cand.params]))[0])
            warm = None
            if (parent := cand.params.warm_from()) is not None:
                warm = await fidelity.warm_start_for(
                    self.run_dir, self.state, parent, self.backends
                )
                if isinstance(warm, str):
                    self._event("refused", job_id=job_id, candidate=cand.id, reason=warm)
                    return
            spec = JobSpec(
                job_id=job_id, candidate=cand, data=self.config.data, challenge_dir=self.config.challenge_dir,
                demo_frames=self.config.demo_frames, weights=self.config.weights, runner_axis=self.config.runner_axis,
                limits=JobLimits(timeout_s=self.config.job_timeout_s, max_cost=min(self.caps.per_job, 1e18)),
                predicted_cost=predicted, train_profile=self.config.profile_for(cand.lane), train_device=backend.device,
                host="local" if backend.name == "local" else backend.name, out_dir=backend.out_dir(job_id),
                warm_start=warm, cpu_threads=backend.threads_per_job,
            )  # fmt: skip
            await self._while_paused()
            if self.stop_reason:
                return
            failed = [ch for ch in preflight(spec) if not ch.ok]
            if failed:
                self._event("refused", job_id=job_id, candidate=cand.id, reason="; ".join(ch.message for ch in failed))  # fmt: skip
                return
            async with self._money:  # reservations are decided one at a time
                amount = B.reservation(predicted, self.caps, price_per_hour=backend.price_per_hour)
                committed = sum(self.state.cycle_commitment(cycle))
                if not B.fits(amount, self.state.spent, self.state.reserved, committed, self.caps):
                    self._event("refused", job_id=job_id, candidate=cand.id, reason="budget: the reservation would pass a cost cap")  # fmt: skip
                    self.stop_reason = self.stop_reason or "budget exhausted"
                    return
                if not B.can_run(amount, backend.price_per_hour, self.config.poll_s):
                    self._event("refused", job_id=job_id, candidate=cand.id,
                                reason=f"budget: {amount:.4g} does not cover two polls at {backend.price_per_hour}/h")  # fmt: skip
                    return
                lease = B.lease_s(amount, backend.price_per_hour)
                spec = spec.model_copy(update={"limits": spec.limits.model_copy(update={"max_wall_s": lease})})  # fmt: skip
                self._event("reserved", job_id=job_id, amount=amount, cycle=cycle)
                self._event("dispatched", job_id=job_id, host=backend.name, cycle=cycle, attempt=attempt,
                            reserved=amount, spec=spec)  # fmt: skip
            spec_file = self._job_dir(job_id) / "spec.json"
            await asyncio.to_thread(
                atomic.write_json, spec_file, json.loads(spec.model_dump_json())
            )
            await self._watch(job_id)
        await self._retry(job_id)

    def _needs_retry(self, job_id: str) -> bool:
        """Lost, retries left, and no later attempt of it dispatched yet."""
        job = self.state.jobs[job_id]
        later = any(j.candidate_id == job.candidate_id and j.cycle == job.cycle and j.attempt > job.attempt
                    for j in self.state.jobs.values())  # fmt: skip
        return job.state == "lost" and job.attempt < self.config.max_retries and not later

    async def _retry(self, job_id: str) -> None:
        """A lost job is dispatched again (a reattached one too), up to --max-retries."""
        if self._needs_retry(job_id) and not self.stop_reason:
            job = self.state.jobs[job_id]
            self.log(f"{job_id}: lost; retrying ({job.attempt + 1}/{self.config.max_retries})")
            await self._run_job(job.cycle, job.spec.candidate, job.attempt + 1)

    async def _watch(self, job_id: str) -> None:
        """Submit (idempotently), then poll until the job ends; settle, harvest."""
        job = self.state.jobs[job_id]
        backend = self.backends.get(job.host)
        spec = job.spec
        if backend is None:
            return self._finish(
                job_id,
                JobStatus(job_id, "lost"),
                0.0,
                f"host {job.host} is not configured any more",
            )
        unreachable_since, last_beat, submitted = None, 0.0, False
        # the longest time seen between two polls of this job: budget look-ahead uses it, so a
        # slow host or a busy machine cancels earlier instead of letting a job pass its cap
        gap, last_poll, seen_wall_s = self.config.poll_s, None, job.wall_s
        while True:
            try:
                if not submitted:
                    status = await backend.poll(job_id)
                    if (
                        status.state == "unknown"
                    ):  # recorded but never submitted (or crashed in between)
                        await self.ledger.synced()  # dispatched, on disk before it runs
                        # a warm start's checkpoint first: submitting starts the job
                        await fidelity.place_warm_start(self.run_dir, backend, spec)
                        status = await backend.submit(spec)
                    submitted = True
                    if job.attempt:
                        await self._cancel_orphans(job, backend)
                else:
                    status = await backend.poll(job_id)
                unreachable_since = None
                now = time.monotonic()
                gap = max(gap, now - last_poll) if last_poll is not None else gap
                last_poll, seen_wall_s = now, status.wall_s
            except BackendError as exc:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > self.config.lost_after_s:
                    # nobody can see it any more, but its host may run it until its lease ends:
                    # charge the whole reservation, the most it can have cost
                    return self._finish(
                        job_id,
                        JobStatus(job_id, "lost", seen_wall_s),
                        backend.price_per_hour,
                        f"{exc}; charged its whole reservation",
                        cost=job.reserved if backend.price_per_hour > 0 else 0.0,
                    )
                await asyncio.sleep(self.config.poll_s)
                continue
            if status.final:
                await self._mirror_log(job_id, backend, status.log_bytes, prune=False)
                return await self._settle(job_id, status, backend)
            # intermediate results arrive in the log: read it as it grows, not only at heartbeats
            beat = time.monotonic() - last_beat > HEARTBEAT_S
            await self._mirror_log(job_id, backend, status.log_bytes, event=beat)
            over_cap = await self._top_up(job_id, status.wall_s, backend, gap)
            timed_out = status.wall_s > self.config.job_timeout_s
            asked = job_id in self._cancel_requested
            pruned = self.state.jobs[job_id].pruned
            if over_cap or timed_out or asked or pruned or self._cancel_running:
                why = over_cap or ("timeout" if timed_out else "cancelled by request" if asked else
                                   f"pruned: {pruned}" if pruned else self.stop_reason)  # fmt: skip
                self.log(f"{job_id}: cancelling ({why})")
                await self.ledger.synced()
                status = await backend.cancel(job_id)
                return self._finish(
                    job_id,
                    JobStatus(job_id, "cancelled", status.wall_s),
                    backend.price_per_hour,
                    why,
                )
            if beat:  # after the cap check: never delays a cancel
                self._event("heartbeat", job_id=job_id, state=status.state, wall_s=status.wall_s, log_bytes=status.log_bytes)  # fmt: skip
                last_beat = time.monotonic()
            await asyncio.sleep(self.config.poll_s)

    async def _cancel_orphans(self, retry, backend: Backend) -> None:
        """A lost job may still be running on a host that came back: once the retry reaches
        that host, stop the earlier attempts there (best effort; they were settled as lost)."""
        for j in list(self.state.jobs.values()):
            if j.candidate_id == retry.candidate_id and j.cycle == retry.cycle and j.state == "lost" and j.host == backend.name:  # fmt: skip
                try:
                    await self.ledger.synced()
                    status = await backend.cancel(j.job_id)
                except BackendError:
                    continue
                if status.state == "cancelled":
                    self._event("orphan_cancelled", job_id=j.job_id, state=status.state)
                elif status.state == "ok" and j.harvested is None:  # it finished while away
                    await self._harvest(j.job_id, backend, late=True)

    async def _top_up(self, job_id: str, wall_s: float, backend: Backend, gap: float) -> str:
        """Grow a running job's reservation (doubling, up to the per-job cap, while the caps allow)
        well before it runs out, and extend the host's lease to match: the host stops the job
        LEASE_MARGIN_S before its reservation ends, so growing late would lose the race. When it
        cannot grow, "" while it may go on, else why it must be cancelled now (`gap`: the
        longest interval seen between two polls)."""
        job, price, grown = self.state.jobs[job_id], backend.price_per_hour, False
        while B.metered(wall_s + 2 * gap + B.TOP_UP_AHEAD_S, price) >= job.reserved:
            if job.reserved >= self.caps.per_job - 1e-12:
                break
            async with self._money:
                extra = min(max(job.reserved, 1e-6), self.caps.per_job - job.reserved)
                committed = sum(self.state.cycle_commitment(job.cycle))
                if not B.fits(extra, self.state.spent, self.state.reserved, committed, self.caps):
                    break
                self._event("reserved", job_id=job_id, amount=extra, cycle=job.cycle)
                grown = True
        if grown and (lease := B.lease_s(job.reserved, price)) is not None:
            try:  # the host's lease follows the reservation; unreachable, it stops the job early
                await self.ledger.synced()  # the grown reservation, on disk before the lease
                await backend.extend(job_id, lease)
            except BackendError as exc:
                self.log(f"{job_id}: could not extend its lease ({exc}); the host stops it at the old one")  # fmt: skip
        if B.must_cancel(wall_s, price, job.reserved, gap):
            return "per-job cost cap" if job.reserved >= self.caps.per_job - 1e-12 else "the total or per-cycle cost cap"  # fmt: skip
        return ""

    def _job_dir(self, job_id: str) -> Path:
        """RUN_DIR/jobs/ID: the job's spec, mirrored log and fetched result, wherever it ran."""
        path = self.run_dir / "jobs" / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def _mirror_log(self, job_id: str, backend: Backend, log_bytes: int, event: bool = True, prune: bool = True) -> None:  # fmt: skip
        """Copy what the job's log gained; record its last line (`event`) and its rungs (and
        prune on them while the job runs: `prune`)."""
        path = self._job_dir(job_id) / "log"
        if self.rung_lines.first_look(job_id) and path.exists():  # the copy may hold rungs a
            # killed controller never recorded (the fold counts each once)
            self._rungs(job_id, await asyncio.to_thread(path.read_text, "utf-8", "replace"), prune)
        copied = await joblog.mirror(backend, job_id, path, log_bytes)
        if copied is not None:
            self._unlogged[job_id] = copied[:2]
            self._rungs(job_id, copied[2], prune)
        if event and (seen := self._unlogged.pop(job_id, None)) is not None:
            self._event("log", job_id=job_id, bytes=seen[0], last=seen[1])

    def _rungs(self, job_id: str, text: str, prune: bool) -> None:
        """Record each new rung in the log text, judged once; prune on it when it says so."""
        job = self.state.jobs[job_id]
        for rung in self.rung_lines.feed(job_id, text):
            if job.has_rung(rung):
                continue
            judged = fidelity.judge(self.state, job, rung, self.config.prune, self.config.prune_eta)
            self._event("intermediate", job_id=job_id, rung=rung, band=judged.band, note=judged.note)  # fmt: skip
            if prune and judged.prune and not job.pruned and not job.finished:
                self.log(f"{job_id}: pruned ({judged.prune[1]})")
                self._event("pruned", job_id=job_id, step=rung.step, rule=judged.prune[0], reason=judged.prune[1])  # fmt: skip

    async def _settle(self, job_id: str, status: JobStatus, backend: Backend) -> None:
        detail = (
            "stopped by its host: the budget lease ran out"
            if status.state == "cancelled"
            else status.detail
        )  # a lost job: what its host or engine says of it (e.g. Slurm's CANCELLED)
        if status.state == "failed":
            tail = (
                (await backend.logs(job_id, max(0, status.log_bytes - 2000))).strip().splitlines()
            )
            detail = tail[-1] if tail else f"exit code {status.exit_code}"
        self._finish(job_id, status, backend.price_per_hour, detail)
        if status.state == "ok":
            await self._harvest(job_id, backend)

    async def _harvest(self, job_id: str, backend: Backend, late: bool = False) -> None:
        """Fetch, cross-verify and record a result: once per job (`harvested` is its mark)."""
        spec = self.state.jobs[job_id].spec
        try:
            fetched = await backend.fetch(job_id)
            await asyncio.to_thread(
                atomic.write_json, self._job_dir(job_id) / "result.json", fetched.result
            )
            anchor, reason = verify(spec, fetched)
        except BackendError as exc:
            anchor, reason = None, f"could not fetch the result: {exc}"
        if anchor is not None and any(a.id == anchor.id for a in self.state.anchors):
            anchor, reason = None, f"{anchor.id} is already an anchor (another attempt measured it)"
        self._event("harvested", job_id=job_id, ok=anchor is not None, reason=reason, late=late)
        if anchor is not None:
            self._event("anchor_added", job_id=job_id, anchor=anchor)

    async def _harvest_pending(self, jobs) -> None:
        """Results the ledger has not judged: a job that finished ok just before the loop died,
        or a lost one whose host ran it to the end after all (it then holds a result)."""
        for job in [j for j in jobs if j.awaits_harvest]:
            backend = self.backends.get(job.host)
            if backend is None:
                continue
            if job.state == "lost":
                try:
                    if (await backend.poll(job.job_id)).state != "ok":
                        continue
                except BackendError:
                    continue
            await self._harvest(job.job_id, backend, late=job.state == "lost")

    def _finish(self, job_id: str, status: JobStatus, price: float, detail: str, cost: float | None = None) -> None:  # fmt: skip
        cost = B.metered(status.wall_s, price) if cost is None else cost
        self._event("finished", job_id=job_id, outcome=status.state, cost=cost, wall_s=status.wall_s, detail=detail)  # fmt: skip
        self._event("budget", spent=self.state.spent, reserved=self.state.reserved, total_cap=None if math.isinf(self.caps.total) else self.caps.total)  # fmt: skip

    # --- stopping -----------------------------------------------------------------------------
    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
            loop.add_signal_handler(signal.SIGTERM, self._interrupt)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests, the dashboard)
            pass

    def _interrupt(self) -> None:
        self._interrupts += 1
        if self._interrupts > 1:
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once; the ledger can resume
        self.log("stopping: cancelling running jobs (Ctrl-C again to stop at once)")
        self.stop_reason = INTERRUPTED
        self._cancel_running = True
        self._event("stopping", reason=INTERRUPTED)

    async def _shutdown(self) -> None:
        if not self.stop_reason:
            self.stop_reason = "stopped"
        if self.state.running and self._cancel_running:
            await asyncio.gather(
                *(self._watch(j.job_id) for j in self.state.running), return_exceptions=True
            )
        if not self.state.running:
            self._event("run_finished", reason=self.stop_reason, spent=self.state.spent,
                        best=next((a.score for a in self.state.measured()), None))  # fmt: skip
            await asyncio.to_thread(self._write_summary)
        await self.ledger.synced()
        self.ledger.close()
        for b in self.backends.values():
            await b.close()

    def _write_summary(self) -> None:
        save_records(self.state.anchors, self.run_dir / "anchors.json")
        atomic.write_json(self.run_dir / "summary.json", self.state.summary())
