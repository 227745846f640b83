"""hosts.toml's [[backend]] tables: each kind's fields, validated with one line per problem."""

import pytest

from tac.control.backends import BACKENDS, backend_for
from tac.control.hosts import load_backends
from tac.errors import TacError

GOOD = """\
[[host]]
name = "gpu1"
destination = "me@gpu1"
workdir = "/srv/tac"

[[backend]]
kind = "slurm"
name = "hpc"
workdir = "/scratch/tac"
partition = "gpu"
account = "proj-1"
mem = "16G"
cpus_per_job = 4
gpus_per_job = 1
price_per_cpu_hour = 0.5
price_per_gpu_hour = 2.0
sbatch_args = ["--qos=normal"]

[[backend]]
kind = "ray"
name = "rc"
address = "http://head:8265"
storage = "/mnt/shared/tac"
cpus_per_job = 2
memory_gb = 8
runtime_env = { env_vars = { TAC_CACHE_DIR = "/mnt/shared/cache" } }
"""


def test_every_kind_is_read_with_its_fields_and_priced_by_its_resources(tmp_path):
    path = tmp_path / "hosts.toml"
    path.write_text(GOOD)
    ssh, slurm, ray = load_backends(path)
    assert (ssh.kind, slurm.kind, ray.kind) == ("ssh", "slurm", "ray")
    assert slurm.job_price_per_hour == pytest.approx(4 * 0.5 + 1 * 2.0)
    assert slurm.sbatch_options() == ["--cpus-per-task=4", "--gpus=1", "--partition=gpu",
                                      "--account=proj-1", "--mem=16G", "--qos=normal"]  # fmt: skip
    assert ray.runtime_env == {"env_vars": {"TAC_CACHE_DIR": "/mnt/shared/cache"}}
    assert sorted(BACKENDS.names()) == ["local", "ray", "slurm", "ssh"]
    # a Slurm cluster behind a login node is reached as an SSH host with the Slurm engine
    remote = backend_for(slurm.model_copy(update={"login": "me@login"}))
    assert type(remote).__name__ == "SSHBackend" and remote.engine["kind"] == "slurm"
    assert remote.price_per_hour == pytest.approx(4.0) and remote.engine["sbatch_args"][0] == "--cpus-per-task=4"  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('kind = "ray"', 'kind = "k8s"'), "backend 'rc': kind must be \"ssh\", \"slurm\" or \"ray\""),
        (lambda t: t.replace('workdir = "/scratch/tac"\n', ""), "backend 'hpc': missing 'workdir'"),
        (lambda t: t.replace('"/scratch/tac"', '"scratch"'), "backend 'hpc': workdir: must be an absolute path"),
        (lambda t: t.replace('"--qos=normal"', '"--qos normal; rm -rf ~"'), "is not one sbatch option of the form --name=value"),
        (lambda t: t.replace('"--qos=normal"', '"--output=/tmp/elsewhere"'), "--output is set by tac"),
        (lambda t: t.replace('partition = "gpu"', 'partition = "gpu a"'), "backend 'hpc': partition: must be one word"),
        (lambda t: t.replace('"http://head:8265"', '"head:8265"'), "backend 'rc': address: String should match"),
        (lambda t: t.replace('memory_gb = 8', 'colour = "red"'), "backend 'rc': unknown key 'colour'"),
        (lambda t: t.replace('name = "rc"', 'name = "hpc"'), "backend 'hpc': the name is used twice"),
        (lambda t: t.replace('[[backend]]\nkind = "slurm"', '[[backend]]\nkind = "slurm"\nlogin = "-oProxyCommand=x"'), "destination: must not start with '-'"),
    ],
)  # fmt: skip
def test_bad_backend_tables_are_one_line_naming_file_and_table(tmp_path, edit, expected):
    path = tmp_path / "hosts.toml"
    path.write_text(edit(GOOD))
    with pytest.raises(TacError) as caught:
        load_backends(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message
