"""Small jobs fast: where one demo job's time goes, with and without the job's speed-ups.

One codec-lane job on the 40-frame demo clip, submitted exactly as the loop's local backend
submits it (`tac.jobs.worker.submit`: a detached supervisor running `nice tac job run`), timed
from its log's stage line (`stages: imports … · total … s`) and from submit to the finished
state. Both modes run side by side in this one run, interleaved, on one warm cache:

  before   TAC_JOB_SPEEDUPS=0: timm imported at start-up, glibc's default malloc (each scorer
           batch page-faults its activations in again), the originals decoded in line with
           the encoding, the networks built after inflate, a full interpreter exit
  after    the job as it runs now: large freed blocks kept for reuse (tac.jobs.heap),
           decoding a frame ahead in a thread, timm imported with the networks, built in a
           thread while inflate starts its own python, the exit without garbage collections
           (gc.freeze)

First each mode's first job, on an empty cache of its own (it renders the demo clip and
computes the original's scorer outputs, which every later job reuses); then the warm jobs,
interleaved, best of --repeat. Then, unless --no-loop, the loop around one job:
`tac loop --max-cycles 1 --explore 1` on the demo, both modes, its wall against its job's.
Then two short nerv jobs started at once, as `--local-concurrency 2` starts them, with every
core each (as before issue 19) and with the cores shared between them (`JobSpec.cpu_threads`,
what the local backend now sets). Every codec job's score must be identical: the benchmark
fails otherwise. Needs an idle machine:
the load average is printed before and after.

Run: `make bench` or `python benchmarks/bench_jobs.py [--repeat R] [--no-loop]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGE_LINE = re.compile(r"stages: (.*) · total ([\d.]+) s")
MODES = {"before": "0", "after": "1"}


def demo_spec(job_id: str, workdir: Path, weights: str) -> str:
    """The JobSpec the loop sends for one codec candidate on the demo (as the tests build it)."""
    from tac.jobs import worker
    from tac.lanes.codec import CodecSearchParams
    from tac.records import Candidate, JobLimits, JobSpec

    params = CodecSearchParams(codec="hevc", crf=34, preset="ultrafast", scale=0.5)
    return JobSpec(
        job_id=job_id,
        candidate=Candidate(id=params.id(), params=params, runner_axis="cpu", weights=weights),
        data="demo",
        weights=weights,
        runner_axis="cpu",
        limits=JobLimits(timeout_s=600, max_cost=0),
        host="local",
        out_dir=str(worker.job_dir(workdir, job_id) / "out"),
    ).model_dump_json()


def nerv_spec(job_id: str, workdir: Path, weights: str, width: int, threads: int | None) -> str:
    """A short nerv training job (profile `tiny`, 8 frames) using `threads` CPU threads."""
    from tac.jobs import worker
    from tac.lanes.nerv.space import NervParams
    from tac.records import Candidate, JobLimits, JobSpec

    params = NervParams(latent_dim=4, width=width, steps=6)
    return JobSpec(
        job_id=job_id, candidate=Candidate(id=params.id(), params=params, runner_axis="cpu", weights=weights),
        data="demo", demo_frames=8, weights=weights, runner_axis="cpu", limits=JobLimits(timeout_s=600, max_cost=0),
        train_profile="tiny", host="local", out_dir=str(worker.job_dir(workdir, job_id) / "out"), cpu_threads=threads,
    ).model_dump_json()  # fmt: skip


def run_pair(workdir: Path, weights: str, threads: int | None, tag: str) -> dict:
    """Two nerv jobs started at once, as `--local-concurrency 2` starts them: wall and train."""
    from tac.jobs import worker

    os.environ["TAC_JOB_SPEEDUPS"] = "1"
    ids = [f"pair-{tag}-{width}" for width in (8, 16)]
    start = time.perf_counter()
    for job_id, width in zip(ids, (8, 16), strict=True):
        worker.submit(workdir, nerv_spec(job_id, workdir, weights, width, threads))
    while any(worker.status(workdir, j)["state"] == "running" for j in ids):
        time.sleep(0.05)
    wall = time.perf_counter() - start
    logs = [worker.job_dir(workdir, j) / "log.txt" for j in ids]
    return {"wall": wall, "train": max(stages(log)["train"] for log in logs)}


def stages(log: Path) -> dict[str, float]:
    """{stage: seconds, …, "total": s} from a job's log."""
    match = STAGE_LINE.search(log.read_text())
    if match is None:
        raise SystemExit(f"{log}: no stage line; the job failed:\n{log.read_text()[-2000:]}")
    parts = (p.rsplit(" ", 2) for p in match.group(1).split(" · "))
    return {name: float(s) for name, s, _unit in parts} | {"total": float(match.group(2))}


def run_job(workdir: Path, job_id: str, weights: str, mode: str, cache: Path) -> dict:
    """Submit one demo job in `mode` and wait for it: its stages, wall and score."""
    from tac.jobs import worker

    os.environ["TAC_JOB_SPEEDUPS"] = MODES[mode]  # the supervisor and job inherit both
    os.environ["TAC_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    worker.submit(workdir, demo_spec(job_id, workdir, weights))
    while (info := worker.status(workdir, job_id))["state"] == "running":
        time.sleep(0.05)
    wall = time.perf_counter() - start
    d = worker.job_dir(workdir, job_id)
    if info["state"] != "ok":
        raise SystemExit(f"job {job_id}: {info['state']}\n{(d / 'log.txt').read_text()[-2000:]}")
    result = json.loads((d / "out" / "result.json").read_text())
    return {"stages": stages(d / "log.txt"), "wall": wall, "score": result}


def run_loop(tmp: Path, mode: str, cache: Path) -> dict:
    """`tac loop` on the demo, one cycle of one job: its wall and its job's stage line."""
    os.environ["TAC_JOB_SPEEDUPS"] = MODES[mode]
    os.environ["TAC_CACHE_DIR"] = str(cache)
    run = tmp / f"loop-{mode}"
    argv = [sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(run), "--data", "demo",
            "--max-cycles", "1", "--explore", "1", "--local-concurrency", "1"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    logs = sorted((run / "work" / "jobs").glob("*/log.txt"))
    if proc.returncode != 0 or len(logs) != 1:
        raise SystemExit(f"tac loop ({mode}) failed: {proc.stderr[-2000:]}")
    return {"wall": wall, "job": stages(logs[0])["total"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="warm jobs per mode (best shown)")
    parser.add_argument("--no-loop", action="store_true", help="skip the loop around one job")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tac-bench-jobs-"))
    try:
        measure(tmp, args.repeat, not args.no_loop)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(tmp: Path, repeat: int, loop: bool) -> None:
    caches = {mode: tmp / f"cache-{mode}" for mode in MODES}  # each mode's first job: empty
    os.environ["TAC_CACHE_DIR"] = str(tmp / "cache-weights")
    from tac.contest.weights import resolve_weights

    weights = resolve_weights().weights_id
    workdir, warm = tmp / "work", caches["after"]
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {tmp}")

    first = {mode: run_job(workdir, f"first-{mode}", weights, mode, caches[mode]) for mode in MODES}
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for i in range(repeat):  # interleaved: a busy moment hits both modes alike
        for mode in MODES:
            runs[mode].append(run_job(workdir, f"{mode}-{i}", weights, mode, warm))

    jobs = [*first.values(), *runs["before"], *runs["after"]]
    scores = {json.dumps({k: v for k, v in r["score"].items() if k != "wall_s"}, sort_keys=True)
              for r in jobs}  # fmt: skip
    print(f"scores identical in all {len(jobs)} jobs: {len(scores) == 1}")
    if len(scores) != 1:
        raise SystemExit("scores differ between jobs: the benchmark is void")
    best = {mode: min(rs, key=lambda r: r["stages"]["total"]) for mode, rs in runs.items()}
    columns = [first["before"], first["after"], best["before"], best["after"]]
    names = [s for s in best["before"]["stages"] if s != "total"] + ["total", "wall"]
    print(f"\ndemo job, 40 frames, seconds (warm: best of {repeat})")
    print(f"{'':<10}{'first job (empty cache)':>27}{'warm cache':>27}")
    print(f"{'stage':<10}" + f"{'before':>9}{'after':>9}{'ratio':>9}" * 2)
    for name in names:
        row = f"{name:<10}"
        for before, after in (columns[:2], columns[2:]):
            b, a = (r["wall"] if name == "wall" else r["stages"].get(name, 0.0) for r in (before, after))  # fmt: skip
            row += f"{b:>9.1f}{a:>9.1f}" + (f"{b / a:>8.2f}x" if a >= 0.05 else f"{'':>9}")
        print(row)
    print("(wall: submit to finished state, with the supervisor, python start-up and exit)")

    cores = os.cpu_count() or 1
    pairs = {"all cores each": run_pair(workdir, weights, None, "all"),
             f"{max(1, cores // 2)} each (cores ÷ 2)": run_pair(workdir, weights, max(1, cores // 2), "shared")}  # fmt: skip
    print(f"\ntwo nerv jobs at once (profile tiny, 8 frames) on {cores} cores, seconds")
    print(f"{'threads':<22}{'wall':>8}{'train':>8}")
    for name, r in pairs.items():
        print(f"{name:<22}{r['wall']:>8.1f}{r['train']:>8.1f}")
    (a, b) = pairs.values()
    print(
        f"(JobSpec.cpu_threads: the local backend shares its cores; wall {a['wall'] / b['wall']:.2f}x faster)"
    )

    if loop:
        loops = {mode: run_loop(tmp, mode, warm) for mode in MODES}
        print("\ntac loop --max-cycles 1 --explore 1 on the demo (warm cache), seconds")
        print(f"{'mode':<10}{'loop':>8}{'its job':>9}{'around it':>11}")
        for mode, r in loops.items():
            print(f"{mode:<10}{r['wall']:>8.1f}{r['job']:>9.1f}{r['wall'] - r['job']:>11.1f}")
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
