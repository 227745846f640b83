"""What one dispatched job does on a worker, and how a host keeps its jobs.

run.py        run_job(spec, out): compress (+ train) → submission → exact evaluation; rung lines
worker.py     a host's job directory protocol: submit (detached), status, logs, result, cancel,
              get/put a file in a job's out/ (a warm start's checkpoint)
cli.py        `tac job run|submit|status|logs|result|get|put|cancel`: the same verbs remotely
synthetic.py  a labelled synthetic training job (known learning curves) for benchmarks and tests
"""
