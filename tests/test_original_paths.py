"""The original tac's module paths still import, and each is only a re-export.

A shim is a top-level `tac/*.py` whose docstring starts with "The original tac's". Every name in
its `__all__` must be the very object its declared home module holds, so a shim that grows its
own copy (or keeps a name its home dropped) fails here; the README table lists exactly the shims.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

import tac

ROOT = Path(__file__).resolve().parents[1]
MARKER = "The original tac's"

# shim -> the modules it may re-export from (the search shims: the public package only)
SOURCES = {
    "tac.architectures": (
        "tac.postfilter",
        "tac.postfilter.conditioned",
        "tac.postfilter.convs",
        "tac.postfilter.luma",
        "tac.postfilter.shuffle",
    ),
    "tac.training": (
        "tac.train.averaging",
        "tac.train.config",
        "tac.lanes.codec.filter_training",
        "tac.train.trainer",
    ),
    "tac.losses": ("tac.train.losses",),
    "tac.quantization": ("tac.quant",),
    "tac.fp4_quantize": ("tac.quant.fp4",),
    "tac.scorer": ("tac.contest.scorer", "tac.contest.weights"),
    "tac.evaluate": ("tac.contest.evaluate", "tac.contest.score"),
    "tac.profiles": ("tac.train.profiles",),
    "tac.optimizer": ("tac.search",),
    "tac.predictor": ("tac.search",),
    "tac.preflight": ("tac.search",),
}
REQUIRED = {
    "tac.optimizer": {"MetaLagrangianSearch"},
    "tac.predictor": {"score_band"},
    "tac.preflight": {"preflight"},
}


def _shim_files() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "tac").glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if doc and doc.startswith(MARKER):
            found[f"tac.{path.stem}"] = path
    return found


def _imports(path: Path) -> dict[str, str]:
    """name -> module, for every `from MODULE import name` at the top of the shim."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                out[alias.asname or alias.name] = node.module
    return out


def test_every_shim_is_declared():
    assert set(_shim_files()) == set(SOURCES)


@pytest.mark.parametrize("shim", sorted(SOURCES))
def test_shim_reexports_the_same_objects(shim):
    module = importlib.import_module(shim)
    exported = module.__all__
    assert exported and len(exported) == len(set(exported))
    assert REQUIRED.get(shim, set()) <= set(exported)

    imports = _imports(_shim_files()[shim])
    assert set(imports) == set(exported), "import exactly what __all__ names, nothing else"
    for name in exported:
        home = imports[name]
        assert home in SOURCES[shim], f"{shim}.{name} comes from {home}, not a declared source"
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name

    public = {n for n in vars(module) if not n.startswith("_")}
    assert public == set(exported), f"{shim} defines names outside __all__"


def test_top_level_spellings_are_the_same_objects():
    training = importlib.import_module("tac.training")
    architectures = importlib.import_module("tac.architectures")
    assert tac.Trainer is training.Trainer
    assert tac.TrainConfig is training.TrainConfig
    assert tac.build_postfilter is architectures.build_postfilter


def _readme_rows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Coming from the original tac", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = re.findall(r"`([\w.]+)`", cells[1])
    return rows


def test_readme_table_lists_exactly_the_shims():
    rows = _readme_rows()
    assert set(rows) == set(_shim_files())
    for shim, homes in rows.items():
        assert homes, shim
        for home in homes:
            importlib.import_module(home)
            assert any(s == home or s.startswith(home + ".") for s in SOURCES[shim]), (shim, home)
