"""The one registry helper (`tac.registry.Registry`) and the extension points built on it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tac.errors import TacError
from tac.registry import Registry
from tests.conftest import REPO


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter from the repository root (plug-ins load once a process)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=REPO, env=os.environ | env, timeout=120,
    )  # fmt: skip


# --- the helper --------------------------------------------------------------------------------


def test_register_by_call_and_by_decorator():
    things = Registry("thing")
    one = object()
    assert things.register("one", one) is one

    @things.register("two")
    class Two:
        pass

    assert things.get("one") is one and things.get("two") is Two
    assert things.names() == ["one", "two"] == list(things)
    assert "two" in things and "three" not in things and 2 not in things
    assert len(things) == 2


def test_lazy_imports_its_module_on_first_get_only(tmp_path, monkeypatch):
    module = "_tac_registry_lazy_target"
    (tmp_path / f"{module}.py").write_text("VALUE = ('loaded', 42)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    things = Registry("thing")
    things.lazy("late", f"{module}:VALUE")
    assert things.names() == ["late"] and "late" in things
    assert module not in sys.modules  # listing and membership never import
    assert things.get("late") == ("loaded", 42)
    assert module in sys.modules
    assert things.get("late") is sys.modules[module].VALUE  # imported once, then kept


def test_a_taken_name_is_refused_but_the_same_object_again_is_not():
    things = Registry("thing")
    first = object()
    things.register("a", first)
    things.register("a", first)  # a module imported twice registers the same object again
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        things.register("a", object())
    with pytest.raises(ValueError, match="already registered"):
        things.lazy("a", "os:sep")
    things.lazy("b", "os:sep")
    with pytest.raises(ValueError, match="thing 'b' is already registered"):
        things.register("b", object())
    assert things.get("a") is first and things.get("b") == os.sep


def test_an_unknown_name_is_one_tac_error_listing_the_known():
    things = Registry("widget")
    things.register("zeta", 1)
    things.lazy("alpha", "os:sep")
    with pytest.raises(TacError) as exc:
        things.get("nope")
    assert str(exc.value) == "unknown widget 'nope'; available: alpha, zeta"


PLUGIN = """
from tac.control.backends import BACKENDS
from tac.train.profiles import PROFILES

PROFILES.register("tiny", {**PROFILES.get("smoke"), "max_steps": 2})
BACKENDS.register("fake", dict)  # any callable taking the settings
"""


def test_a_module_named_in_tac_plugins_registers_itself(tmp_path):
    (tmp_path / "tac_test_plugin.py").write_text(PLUGIN)
    proc = python(
        """
        from tac.control.backends import BACKENDS, make_backend
        from tac.train.profiles import PROFILES, profile_config

        print(BACKENDS.names(), PROFILES.names())
        print(make_backend("fake", answer=42), profile_config("tiny").max_steps)
        """,
        TAC_PLUGINS="tac_test_plugin",
        PYTHONPATH=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "['fake', 'local', 'ray', 'slurm', 'ssh'] ['compact_int4', 'proven_baseline', 'smoke', 'tiny']",
        "{'answer': 42} 2",
    ]


def test_a_plugin_that_cannot_be_imported_is_one_tac_error(tmp_path):
    proc = python(
        """
        from tac.errors import TacError
        from tac.train.profiles import PROFILES

        try:
            PROFILES.names()
        except TacError as exc:
            print(exc)
        """,
        TAC_PLUGINS="tac_no_such_plugin",
        PYTHONPATH=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("$TAC_PLUGINS: cannot import plug-in 'tac_no_such_plugin'")


# --- the registries tac keeps ------------------------------------------------------------------


def test_postfilter_families_are_a_registry():
    from tac.postfilter import build_postfilter, list_postfilters
    from tac.postfilter.registry import FAMILIES, register_postfilter

    assert isinstance(FAMILIES, Registry)
    assert {"standard", "dilated", "psd", "luma_only", "film"} <= set(FAMILIES)
    assert list_postfilters() == FAMILIES.names()
    assert type(build_postfilter("psd", hidden=4)) is FAMILIES.get("psd")
    with pytest.raises(TacError, match=r"unknown post-filter 'nope'; available: .*psd"):
        build_postfilter("nope")
    standard, other = FAMILIES.get("standard"), type("Other", (FAMILIES.get("dilated"),), {})
    with pytest.raises(ValueError, match="'standard' is already registered by .*Standard"):
        register_postfilter("standard")(other)
    assert FAMILIES.get("standard") is standard and other.family == "dilated"  # nothing changed


def test_lossless_codecs_are_a_registry_in_id_order():
    from tac.lossless import CHOICES, CODECS
    from tac.lossless.codecs import BY_ID, REGISTRY

    assert isinstance(REGISTRY, Registry)
    assert CODECS == (
        "store",
        "zlib",
        "lzma",
        "bz2",
        "brotli",
        "zstd",
        "lzma-delta",
    )  # id order, as before; id 6 retired
    assert CHOICES == ("auto", "exhaustive", *CODECS)  # the two policies, then the codecs
    assert REGISTRY.names() == sorted(CODECS)
    assert [c.name for c in BY_ID.values()] == list(CODECS)  # id order: the container format
    assert {c.id: c for _, c in REGISTRY.items()} == BY_ID
    assert (
        REGISTRY["zstd"] is REGISTRY.get("zstd") is BY_ID[5] and REGISTRY["lzma-delta"] is BY_ID[7]
    )


def test_training_profiles_are_a_registry():
    from tac.train.profiles import PROFILES, profile_config

    assert isinstance(PROFILES, Registry)
    assert PROFILES.names() == ["compact_int4", "proven_baseline", "smoke"]
    assert profile_config("compact_int4", hidden=8).hidden == 8
    with pytest.raises(TacError) as exc:
        profile_config("nope")
    assert str(exc.value) == (
        "unknown profile 'nope'; available: compact_int4, proven_baseline, smoke"
    )


def test_backend_kinds_are_a_registry_with_a_factory(tmp_path):
    from tac.control.backends import BACKENDS, make_backend
    from tac.control.backends.local import LocalBackend
    from tac.control.hosts import Host

    assert isinstance(BACKENDS, Registry)
    assert {"local", "ssh", "slurm", "ray"} <= set(BACKENDS)
    with pytest.raises(TacError) as exc:
        make_backend("nope")
    assert "unknown backend kind 'nope'" in str(exc.value)
    assert "local" in str(exc.value) and "ssh" in str(exc.value)
    local = make_backend("local", workdir=tmp_path, concurrency=3, runner_axis="cuda")
    assert type(local) is LocalBackend
    assert (local.workdir, local.concurrency, local.runner_axis) == (tmp_path.resolve(), 3, "cuda")
    host = Host(name="gpu1", destination="me@gpu1", workdir="/w", concurrency=2)
    ssh = make_backend("ssh", host=host, control_dir=str(tmp_path))
    assert (type(ssh).__name__, ssh.name, ssh.concurrency) == ("SSHBackend", "gpu1", 2)


def test_naming_backend_kinds_imports_none_of_them():
    proc = python(
        """
        import sys
        from tac.control.backends import BACKENDS

        print(BACKENDS.names(), [m for m in sys.modules if m.startswith("tac.control.backends.")])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['local', 'ray', 'slurm', 'ssh'] ['tac.control.backends.base']"
