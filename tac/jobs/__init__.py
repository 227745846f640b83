"""What one dispatched job does on a worker, and how a host keeps its jobs.

run.py     run_job(spec, out): compress (+ train a filter) → submission → exact evaluation
worker.py  a host's job directory protocol: submit (detached), status, logs, result, cancel
cli.py     `tac job run|submit|status|logs|result|cancel`: the same verbs for remote hosts
"""
