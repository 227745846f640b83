"""Backends by kind: `make_backend("local", workdir=…)`, or `backend_for(config)` for a table of
hosts.toml (`ssh`, `slurm`, `ray`).

Each kind is imported only when a backend of that kind is built, so naming the kinds (or
building a local one) never pulls in another kind's dependencies (Ray's client above all); a
plug-in registers its own kind with `BACKENDS.register`.
"""

from __future__ import annotations

from tac.control.backends.base import Backend
from tac.registry import Registry

BACKENDS: Registry[type[Backend]] = Registry("backend kind")
BACKENDS.lazy("local", "tac.control.backends.local:LocalBackend")
BACKENDS.lazy("ssh", "tac.control.backends.ssh:SSHBackend")
BACKENDS.lazy("slurm", "tac.control.backends.slurm:SlurmBackend")
BACKENDS.lazy("ray", "tac.control.backends.ray:RayBackend")


def make_backend(kind: str, **settings) -> Backend:
    """A backend of `kind` built from its settings; an unknown kind is a TacError naming the known."""
    return BACKENDS.get(kind)(**settings)


def backend_for(config) -> Backend:
    """The backend a hosts.toml table describes (`tac.control.hosts.load_backends`)."""
    return BACKENDS.get(config.kind)(config)
