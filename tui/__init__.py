"""tac-dash: the live terminal dashboard for tac loops (Textual).

    model.py    the ledger, tailed and folded into what the views show (no Textual)
    app.py      the app: layout, keys, the thread worker that tails the ledger
    cli.py      the `tac-dash` command (attach to a run, or --start one)
    screens/    modal screens: help, caps, confirmations
    widgets/    header, budget gauges, candidates, refusals, jobs and hosts, log tail, plots, timeline
    dash.tcss   the one stylesheet

Reads a run directory only; never imports torch or av. Steering goes through the run's
control.jsonl (tac.control.steering), which the loop acknowledges in its ledger.
"""
