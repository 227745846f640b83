"""Controller overhead: dispatch latency and jobs/s per backend, with trivial jobs.

Run: `make bench` or `python benchmarks/bench_controller.py [--jobs 1000] [--concurrency 16]
[--backends local,ssh,ray,slurm] [--side-jobs 20]`.

The real controller and real backends run jobs whose command is `true` instead of `tac job run`,
so what is measured is tac's own overhead and each engine's: from the controller deciding to
dispatch to the job's first observed state, and jobs per second end to end. First every backend
side by side, each against a real engine started here (an sshd on 127.0.0.1, a Ray head, a
single-node Slurm — the tests' own fixtures; one that cannot start here is reported as skipped,
with why); then the event loop's lag on a slow disk (every fsync delayed), with the ledger
written on the loop as before and by its writer thread as now; then a long local run for
ledger throughput. The jobs "fail" (they write no result),
which is harvested as such.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the engines are started by the tests' fixtures' code

from tac.control.backends import backend_for  # noqa: E402
from tac.control.backends.local import LocalBackend  # noqa: E402
from tac.control.config import LoopConfig  # noqa: E402
from tac.control.controller import Controller  # noqa: E402
from tac.control.hosts import Host, RayCluster, SlurmCluster  # noqa: E402
from tac.control.ledger import Ledger, read_events  # noqa: E402


def measure(run: Path, backend, jobs: int, poll_s: float) -> dict:
    config = LoopConfig(
        weights="stand-in:0:" + "0" * 16, generator="random", n=jobs * 2, codecs=["hevc"],
        max_cycles=1, explore=jobs, poll_s=poll_s, max_inflate_s=None, lost_after_s=120,
    )  # fmt: skip
    start = time.perf_counter()
    state = asyncio.run(Controller(run, config, [backend]).run())
    wall = time.perf_counter() - start
    events = read_events(run / "ledger.jsonl")
    dispatched = {e.job_id: e.ts for e in events if e.type == "dispatched"}
    first_seen: dict[str, float] = {}
    for e in events:
        if e.type in ("heartbeat", "finished") and e.job_id not in first_seen:
            first_seen[e.job_id] = e.ts
    latency = sorted(first_seen[j] - t for j, t in dispatched.items() if j in first_seen)
    return {"jobs": len(state.jobs), "wall": wall, "events": len(events), "latency": latency}


async def _lagged_run(tmp: Path, jobs: int, poll_s: float, write_behind: bool) -> tuple[float, list[float]]:  # fmt: skip
    """(wall s, lags) of a controller run, lags = how late each 5 ms timer fired meanwhile."""
    backend = LocalBackend(tmp / "work", concurrency=8, command=["true"])
    config = LoopConfig(weights="stand-in:0:" + "0" * 16, generator="random", n=jobs * 2, codecs=["hevc"],
                        max_cycles=1, explore=jobs, poll_s=poll_s, max_inflate_s=None)  # fmt: skip
    controller = Controller(tmp / "run", config, [backend], ledger_write_behind=write_behind)
    done, lags = asyncio.Event(), []

    async def ticker() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t - 0.005)

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await controller.run()
    done.set()
    await tick
    return time.perf_counter() - start, sorted(lags)


def loop_lag_on_a_slow_disk(jobs: int, fsync_s: float, poll_s: float) -> None:
    """The event loop's lag while the controller runs `jobs` trivial local jobs and every fsync
    in this process takes `fsync_s` more: the ledger written on the loop (before) against its
    writer thread (now), side by side."""
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(fsync_s)
        real_fsync(fd)

    print(f"slow disk: every fsync +{fsync_s * 1e3:.0f} ms; {jobs} trivial local jobs, concurrency 8; event loop lag = lateness of a 5 ms timer")  # fmt: skip
    os.fsync = slow_fsync
    try:
        for write_behind in (False, True):
            with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
                wall, lags = asyncio.run(_lagged_run(Path(tmp), jobs, poll_s, write_behind))
            label = "ledger writer thread (now)" if write_behind else "ledger on the loop (before)"
            print(f"  {label:28} lag median {statistics.median(lags) * 1e3:6.1f} ms, p99 {lags[int(0.99 * len(lags))] * 1e3:6.1f} ms, max {lags[-1] * 1e3:6.1f} ms; {jobs / wall:.1f} jobs/s")  # fmt: skip
    finally:
        os.fsync = real_fsync


def p95(values: list[float]) -> float:
    return values[max(0, int(0.95 * len(values)) - 1)]


@contextlib.contextmanager
def engine(kind: str, tmp: Path, concurrency: int) -> Iterator[object]:
    """A backend of `kind` against a real engine started for the run; raises to skip it."""
    command = ["true"]
    if kind == "local":
        yield LocalBackend(tmp / "work", concurrency=concurrency, command=command)
    elif kind == "ssh":
        from tests.sshd_fixture import SSHD, Sshd

        if not SSHD.is_file():
            raise RuntimeError(f"{SSHD} is not installed")
        (tmp / "sshd").mkdir()
        sshd = Sshd(tmp / "sshd").setup()
        sshd.start()
        host = Host(name="loopback", destination=sshd.destination, port=sshd.port,
                    workdir=str(tmp / "host"), tac=[sys.executable, "-m", "tac.cli"],
                    concurrency=concurrency, runner_axis="cpu",
                    identity_file=str(sshd.identity_file), known_hosts_file=str(sshd.known_hosts))  # fmt: skip
        backend = backend_for(host)
        backend.command = command
        try:
            yield backend
        finally:
            asyncio.run(backend.close())
            sshd.stop()
    elif kind == "ray":
        from tests.ray_fixture import start_ray_head, stop_ray_head

        head = start_ray_head()
        try:
            backend = backend_for(RayCluster(kind="ray", name="ray", address=head.address, storage=str(tmp / "shared"),
                                             concurrency=concurrency, runner_axis="cpu"))  # fmt: skip
            backend.command = command
            yield backend
        finally:
            stop_ray_head(head)
    elif kind == "slurm":
        from tests.slurm_fixture import DAEMONS, start_slurm

        if missing := [d for d in DAEMONS if shutil.which(d) is None]:
            raise RuntimeError(f"{', '.join(missing)} not installed")
        if os.geteuid() != 0:
            raise RuntimeError("a single-node Slurm needs root here")
        slurm = start_slurm(Path(tempfile.mkdtemp(prefix="tac-slurm-", dir="/tmp")))
        try:
            backend = backend_for(SlurmCluster(kind="slurm", name="slurm", workdir=str(tmp / "shared"),
                                               concurrency=concurrency, runner_axis="cpu"))  # fmt: skip
            backend.command = command
            yield backend
        finally:
            slurm.stop()
            shutil.rmtree(slurm.root, ignore_errors=True)
    else:
        raise RuntimeError(f"unknown backend kind {kind!r}")


def side_by_side(kinds: list[str], jobs: int, concurrency: int, poll_s: float) -> None:
    print(f"CPU, {os.cpu_count()} cores; per backend: {jobs} trivial jobs, concurrency {concurrency}, poll {poll_s} s")  # fmt: skip
    print(f"  {'backend':8} {'jobs/s':>7} {'dispatch→first state median':>28} {'p95':>8}")
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
            try:
                with engine(kind, Path(tmp), concurrency) as backend:
                    m = measure(Path(tmp) / "run", backend, jobs, poll_s)
            except Exception as exc:  # an engine that cannot run here is reported, not fatal
                print(f"  {kind:8} skipped: {str(exc).splitlines()[0][:100]}")
                continue
        lat = m["latency"]
        print(f"  {kind:8} {m['jobs'] / m['wall']:7.2f} {statistics.median(lat) * 1e3:25.0f} ms {p95(lat) * 1e3:5.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--poll-s", type=float, default=0.05)
    parser.add_argument("--backends", default="local,ssh,ray,slurm")
    parser.add_argument("--side-jobs", type=int, default=20)
    parser.add_argument("--slow-fsync-ms", type=float, default=50.0)
    args = parser.parse_args()
    kinds = [k.strip() for k in args.backends.split(",") if k.strip()]
    side_by_side(kinds, args.side_jobs, concurrency=2, poll_s=args.poll_s)
    loop_lag_on_a_slow_disk(60, args.slow_fsync_ms / 1e3, args.poll_s)
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
        backend = LocalBackend(Path(tmp) / "work", concurrency=args.concurrency, command=["true"])
        m = measure(Path(tmp) / "run", backend, args.jobs, args.poll_s)
    print(f"long local run: {m['jobs']} trivial jobs, concurrency {args.concurrency}")
    print(f"  wall {m['wall']:.1f} s = {m['jobs'] / m['wall']:.1f} jobs/s end to end")
    print(
        f"  ledger: {m['events']:,} events, {m['events'] / m['wall']:,.0f} events/s (each fsynced)"
    )
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
        ledger, n = Ledger(tmp, "bench"), 5000
        t = time.perf_counter()
        for i in range(n):
            ledger.append(
                "heartbeat", job_id=f"j{i % 16}", state="running", wall_s=1.0, log_bytes=0
            )
        ledger.close()
        print(f"  ledger append alone: {n / (time.perf_counter() - t):,.0f} events/s (fsync each)")
    lat = m["latency"]
    print(f"  dispatch → first observed state: median {statistics.median(lat) * 1e3:.0f} ms, p95 {p95(lat) * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
