"""What each entry point must not import: the host verbs run on every remote poll and must start
fast (no torch, no codecs); the controller runs headless (no Textual); the dashboard runs on a
laptop or over SSH next to nothing but the run directory (no torch, no codecs)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "av", "textual")


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("tac.cli", HEAVY),  # every `tac job status` over SSH pays this import
        ("tac.jobs.worker", HEAVY),
        ("tac.control.controller", HEAVY),
        ("tac.control.backends.ssh", HEAVY),
        ("tac.control.synthetic", HEAVY),
        # a job imports the evaluator at start-up; timm (torchvision, torch._dynamo: a second)
        # comes with the networks, which load in a thread while the job's inflate runs
        ("tac.contest.evaluate", ("timm", "torchvision")),
        ("tui.app", ("torch", "av")),  # the dashboard: Textual, never the networks or codecs
        ("tui.cli", ("torch", "av", "textual")),  # --help and errors before the app starts
    ],
)
def test_module_imports_stay_light(module, forbidden):
    code = f"import sys, {module}; print(sorted(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{module} imports {out.stdout.strip()}"
