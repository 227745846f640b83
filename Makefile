# The two commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: the registry's torchvision only imports beside its own torch build.
	$(BIN)/python -m pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The main job on the embedded demo clip: a real closed loop (exploration, then predicted picks),
# two cycles, jobs as local subprocesses. `tac demo run` compares fixed settings instead.
demo: $(STAMP)
	rm -rf runs/demo-loop
	$(BIN)/tac loop --run-dir runs/demo-loop --data demo --max-cycles 2 --explore 6 --top-k 2 \
		--min-anchors 6 --coverage 0.8 --local-concurrency 2

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=20

bench: $(STAMP)
	set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

lint: $(STAMP)
	$(BIN)/ruff check tac tui tests benchmarks examples

clean:
	rm -rf $(VENV) runs .pytest_cache
