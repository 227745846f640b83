"""One direction of imports, enforced: the import-linter layers contract of ../shared/design.md
(in pyproject.toml) holds for tac, and fails when an upward import is planted, however hidden."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter over the packages under `root` (PYTHONPATH puts them before the install)."""
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_layers_contract_holds():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


@pytest.fixture
def tree(tmp_path):
    for name in ("tac", "tui"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # a function-level import that points up is still an upward import
        ("tac/records.py", "def _planted():\n    from tac.search import rank\n", "tac.records is not allowed to import tac.search"),
        # the submission package must not know any lane
        ("tac/submission/build.py", "def _planted():\n    from tac.lanes import get_lane\n", "tac.submission is not allowed to import tac.lanes"),
        # an indirect route, through a module outside the layers, counts too
        ("tac/atomic.py", "def _planted():\n    import tac.control.ledger\n", "is not allowed to import tac.control"),
    ],
    ids=["records-to-search", "submission-to-lanes", "via-an-unlayered-module"],
)  # fmt: skip
def test_a_planted_upward_import_breaks_the_contract(tree, module, planted, broken):
    assert lint(tree).returncode == 0  # the copy is clean before the plant
    with open(tree / module, "a") as f:
        f.write("\n\n" + planted)
    result = lint(tree)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout[-3000:]
