"""The closed loop: rank, dispatch, harvest, recalibrate — under budgets, crash-safe.

    ledger.py     the run's append-only event log and the state folded from it
    budget.py     reservations and metered spend against total and per-cycle caps
    harvest.py    which finished jobs become anchors, after cross-verification
    controller.py the asyncio loop
    slots.py      one queue of free job slots across hosts
    joblog.py     each job's log, copied into the run directory from its host
    fidelity.py   intermediate results judged (bands, pruning) and warm starts' checkpoints
    steering.py   RUN_DIR/control.jsonl: pause, resume, stop, cancel, caps
    hosts.py      hosts.toml
    synthetic.py  a labelled synthetic ledger (dashboard tests and benchmarks)
    backends/     where jobs run: local subprocesses, SSH hosts (one narrow interface)

No torch, no textual: the controller only moves records around.
"""
