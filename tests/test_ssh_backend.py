"""The SSH backend against a real sshd on 127.0.0.1: dispatch, poll, fetch, logs, cancel, a host
that vanishes mid-job, host-key policy, hosts.toml, `check`, and command-line injection."""

import asyncio
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tac.control.backends.base import BackendError
from tac.control.backends.ssh import SSHBackend
from tac.control.hosts import Host, load_hosts
from tac.control.hosts_cli import app as hosts_app
from tac.errors import TacError
from tac.lanes.codec import CodecSearchParams
from tac.records import Candidate, EvalResult, JobLimits, JobSpec
from tests.sshd_fixture import free_port, processes, sshd  # noqa: F401

HEVC = CodecSearchParams(codec="hevc", crf=34, preset="ultrafast", scale=0.5)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("host-workdir")


@pytest.fixture(scope="module")
def host(sshd, workdir, tac_cache) -> Host:  # noqa: F811
    """This machine seen through sshd. The remote session does not inherit the test's
    environment, so the session's tac cache is handed over on the tac command line."""
    return Host(
        name="loopback",
        destination=sshd.destination,
        port=sshd.port,
        workdir=str(workdir),
        tac=["env", f"TAC_CACHE_DIR={tac_cache}", sys.executable, "-m", "tac.cli"],
        runner_axis="cpu",
        identity_file=str(sshd.identity_file),
        known_hosts_file=str(sshd.known_hosts),
    )


@pytest.fixture(scope="module")
def weights_id(tac_cache) -> str:
    from tac.contest.weights import resolve_weights

    return resolve_weights().weights_id


def demo_spec(job_id: str, weights: str, backend: SSHBackend) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        candidate=Candidate(id=HEVC.id(), params=HEVC, runner_axis="cpu", weights=weights),
        data="demo",
        demo_frames=8,
        weights=weights,
        runner_axis="cpu",
        limits=JobLimits(timeout_s=600, max_cost=0),
        host=backend.name,
        out_dir=backend.out_dir(job_id),
    )


async def using(host: Host, scenario):
    """Run `scenario(backend)` and always stop the backend's ControlMaster."""
    backend = SSHBackend(host)
    try:
        return await scenario(backend)
    finally:
        await backend.close()


async def until_final(backend: SSHBackend, job_id: str, timeout_s: float = 180):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = await backend.poll(job_id)
        if status.final:
            return status
        await asyncio.sleep(0.5)
    raise AssertionError(f"job {job_id} still not final after {timeout_s} s")


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies have already died)."""
    return [pid for pid, state, _ppid, pgrp in processes() if pgrp == pgid and state != "Z"]


@pytest.fixture(scope="module")
def running_job(host, weights_id, workdir):
    """One real demo job, submitted over SSH and shared by the tests below (each is ~15 s)."""

    async def submit(backend):
        spec = demo_spec("ssh-demo", weights_id, backend)
        return spec, await backend.submit(spec)

    spec, status = asyncio.run(using(host, submit))
    return spec, status, workdir / "jobs" / spec.job_id


# -- no sshd needed ----------------------------------------------------------------------------


def bare_host(**fields) -> Host:
    return Host(**({"name": "h", "destination": "me@example.org", "workdir": "/srv/tac"} | fields))


def test_job_ids_that_are_not_plain_names_never_reach_ssh(monkeypatch, tmp_path):
    spawned = []

    async def no_process(*argv, **kwargs):
        spawned.append(argv)
        raise AssertionError("ssh must not run")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_process)
    backend = SSHBackend(bare_host(), control_dir=str(tmp_path))
    evil = "x; touch /tmp/pwned"
    for call in (backend.poll, backend.logs, backend.fetch, backend.cancel):
        with pytest.raises(TacError, match="not a plain name"):
            asyncio.run(call(evil))
    for bad in (evil, "../x", "-rf", "", "a" * 129, "$(id)"):
        with pytest.raises(TacError):
            backend.out_dir(bad)
    assert spawned == []


def test_ssh_command_line_checks_keys_and_quotes_every_word(tmp_path):
    odd = "/srv/tac work/it's; $(touch pwned)"
    strict = SSHBackend(bare_host(workdir=odd, port=2222))  # its own socket directory
    shutil.rmtree(strict.control_dir)  # never connects: the directory is not needed
    argv = strict.ssh_command(strict._verb_argv("status", "job-1"))
    assert argv[0] == "ssh" and argv[-3:-1] == ["--", "me@example.org"]
    # the remote shell sees exactly the fixed entrypoint, word for word
    assert shlex.split(argv[-1]) == ["tac", "job", "status", "--workdir", odd, "--id", "job-1"]
    options = argv[1:-3]
    assert "StrictHostKeyChecking=yes" in options and "BatchMode=yes" in options
    assert not any(o.startswith("UserKnownHostsFile") for o in options)  # the user's own
    assert options[options.index("-p") + 1] == "2222"
    control = next(o for o in options if o.startswith("ControlPath="))
    assert (
        len(control.removeprefix("ControlPath=").replace("%C", "x" * 40)) < 90
    )  # ~104 with ssh's suffix

    kh, key = str(tmp_path / "kh"), str(tmp_path / "id")
    lenient = SSHBackend(
        bare_host(accept_new_host_key=True, known_hosts_file=kh, identity_file=key),
        control_dir=str(tmp_path),
    )
    options = lenient.ssh_options()
    assert "StrictHostKeyChecking=accept-new" in options
    assert f"UserKnownHostsFile={kh}" in options and "IdentitiesOnly=yes" in options
    assert options[options.index("-i") + 1] == key
    assert not any(o.lower() == "stricthostkeychecking=no" for o in options + argv)


GOOD_HOSTS = """
[[host]]
name = "gpu1"
destination = "me@gpu1.example.org"
port = 2222
workdir = "/home/me/tac-work/"
tac = ["/home/me/tac/.venv/bin/tac"]
concurrency = 2
price_per_hour = 2.5
known_hosts_file = "keys/known_hosts"

[[host]]
name = "cpu-box"
destination = "cpu-box"
workdir = "/srv/tac"
runner_axis = "cpu"
"""


def test_hosts_toml_is_parsed_with_defaults_and_local_paths(tmp_path):
    path = tmp_path / "hosts.toml"
    path.write_text(GOOD_HOSTS)
    gpu, cpu = load_hosts(path)
    assert (gpu.name, gpu.port, gpu.workdir, gpu.concurrency) == (
        "gpu1",
        2222,
        "/home/me/tac-work",
        2,
    )
    assert gpu.known_hosts_file == str(tmp_path / "keys" / "known_hosts")
    assert gpu.tac == ["/home/me/tac/.venv/bin/tac"] and gpu.runner_axis == "cuda"
    assert (cpu.port, cpu.tac, cpu.concurrency, cpu.price_per_hour) == (None, ["tac"], 1, 0.0)
    assert cpu.runner_axis == "cpu" and not cpu.accept_new_host_key and cpu.identity_file is None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('workdir = "/srv/tac"\n', ""), "host 'cpu-box': missing 'workdir'"),
        (
            lambda t: t.replace('"me@gpu1.example.org"', '"-oProxyCommand=touch/tmp/pwned"'),
            "host 'gpu1': destination: must not start with '-'",
        ),
        (lambda t: t + 'colour = "red"\n', "host 'cpu-box': unknown key 'colour'"),
        (
            lambda t: t.replace('"cpu-box"\nw', '"cpu box"\nw'),
            "destination: must not contain whitespace",
        ),  # fmt: skip
        (
            lambda t: t.replace('"/srv/tac"', '"srv/tac"'),
            "workdir: must be an absolute",
        ),
        (
            lambda t: t.replace('name = "cpu-box"', 'name = "gpu1"'),
            "host 'gpu1': the name is used twice",
        ),  # fmt: skip
        (
            lambda t: t.replace("concurrency = 2", "concurrency = 0"),
            "concurrency: Input should be greater",
        ),  # fmt: skip
        (lambda t: t.replace("[[host]]", "[[hosts]]"), "unknown top-level key 'hosts'"),
        (lambda t: t + "[[host\n", "not valid TOML"),
    ],
)
def test_bad_hosts_toml_is_one_line_naming_file_and_host(tmp_path, edit, expected):
    path = tmp_path / "hosts.toml"
    path.write_text(edit(GOOD_HOSTS))
    with pytest.raises(TacError) as caught:
        load_hosts(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_a_missing_hosts_file_names_itself(tmp_path):
    with pytest.raises(TacError, match="hosts.toml: not found"):
        load_hosts(tmp_path / "hosts.toml")


# -- against the real sshd ---------------------------------------------------------------------


def test_unknown_host_key_is_refused_unless_the_host_opts_in(host, sshd, tmp_path):  # noqa: F811
    known = tmp_path / "known_hosts"
    known.write_text("")
    strict = host.model_copy(update={"known_hosts_file": str(known)})
    with pytest.raises(BackendError) as caught:
        asyncio.run(using(strict, lambda b: b.poll("nothing")))
    assert str(caught.value) == (
        f"host key for host loopback ({sshd.destination}:{sshd.port}) is not known; "
        "add it to known_hosts or set accept_new_host_key = true for this host"
    )
    assert known.read_text() == ""

    lenient = strict.model_copy(update={"accept_new_host_key": True})
    assert asyncio.run(using(lenient, lambda b: b.poll("nothing"))).state == "unknown"
    host_key = (sshd.root / "host_ed25519.pub").read_text().split()[1]
    recorded = subprocess.run(  # the entry may be hashed (HashKnownHosts): ask ssh-keygen
        ["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(known)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert recorded.returncode == 0 and host_key in recorded.stdout

    # accept-new trusts only new hosts: a key that differs from the recorded one is refused
    impostor = Path(f"{sshd.identity_file}.pub").read_text().split()
    known.write_text(f"[127.0.0.1]:{sshd.port} {impostor[0]} {impostor[1]}\n")
    with pytest.raises(BackendError, match="host key for host loopback .* has CHANGED"):
        asyncio.run(using(lenient, lambda b: b.poll("nothing")))


def test_workdir_words_reach_the_host_unparsed(host, tmp_path):
    canary = tmp_path / "pwned"
    odd = tmp_path / f"odd dir; touch {canary}; $(touch {canary})"
    status = asyncio.run(
        using(host.model_copy(update={"workdir": str(odd)}), lambda b: b.poll("j"))
    )
    assert status.state == "unknown" and not canary.exists()


def test_check_reports_reachability_tac_gpu_and_disk(host, workdir):
    report = asyncio.run(using(host, lambda b: b.check()))
    assert report["reachable"] and report["tac"] and report["error"] is None
    assert report["tac_version"]  # this tac has no --version: "unknown", but present
    if shutil.which("nvidia-smi") is None:
        assert report["gpu"] == "none"
    else:
        assert report["gpu"] not in ("none", "")
    local_free = shutil.disk_usage(workdir).free
    assert 0 < report["free_bytes"] and abs(report["free_bytes"] - local_free) < 0.05 * local_free

    # a workdir that does not exist yet is measured at its nearest existing parent
    later = host.model_copy(update={"workdir": str(workdir / "not" / "yet")})
    assert 0 < asyncio.run(using(later, lambda b: b._free_bytes())) <= 1.05 * local_free


def test_hosts_check_command_exits_1_when_a_host_is_unreachable(host, tmp_path):
    def hosts_file(*hosts: Host) -> Path:
        path = tmp_path / "hosts.toml"

        def table(h: Host) -> str:  # JSON strings, lists and booleans are valid TOML values
            fields = (f"{k} = {json.dumps(v)}" for k, v in h.model_dump().items() if v is not None)
            return "[[host]]\n" + "\n".join(fields)

        tables = [table(h) for h in hosts]
        path.write_text("\n\n".join(tables) + "\n")
        return path

    gone = host.model_copy(update={"name": "gone", "port": free_port()})  # nothing listens
    both = CliRunner().invoke(hosts_app, ["check", "--hosts", str(hosts_file(host, gone))])
    assert both.exit_code == 1
    loopback_line, gone_line = both.output.splitlines()
    assert loopback_line.startswith("loopback  reachable  tac ") and "  gpu " in loopback_line
    assert gone_line.startswith("gone  UNREACHABLE  host gone (") and "unreachable" in gone_line

    as_json = CliRunner().invoke(hosts_app, ["check", "--hosts", str(hosts_file(gone)), "--json"])
    assert as_json.exit_code == 1
    [report] = json.loads(as_json.output)
    assert report["name"] == "gone" and not report["reachable"] and report["free_bytes"] is None


@pytest.mark.slow
def test_host_vanishes_mid_job_and_the_job_survives(host, sshd, running_job):  # noqa: F811
    spec, submitted, job = running_job
    assert submitted.state == "running"

    async def scenario(backend):
        assert (await backend.poll(spec.job_id)).state == "running"  # a ControlMaster is up
        assert not (job / "exit_code").exists()  # still running when the host goes away
        sshd.stop()
        try:
            with pytest.raises(BackendError, match=r"host loopback .* unreachable"):
                await backend.poll(spec.job_id)
            # the detached job did not die with the connection
            pid = int((job / "pid").read_text())
            finished_ok = (job / "exit_code").exists() and (job / "exit_code").read_text() == "0\n"
            assert live_group_members(pid) or finished_ok
        finally:
            sshd.start()
        return await until_final(backend, spec.job_id)

    assert asyncio.run(using(host, scenario)).state == "ok"


@pytest.mark.slow
def test_dispatch_poll_fetch_logs_and_idempotent_submit(host, running_job, workdir):
    spec, submitted, job = running_job
    pid = (job / "pid").read_text()

    async def scenario(backend):
        status = await until_final(backend, spec.job_id)
        fetched = await backend.fetch(spec.job_id)
        text = await backend.logs(spec.job_id)
        tail = await backend.logs(spec.job_id, offset=len(text.encode()))
        again = await backend.submit(spec)
        return status, fetched, text, tail, again

    status, fetched, text, tail, again = asyncio.run(using(host, scenario))
    assert status.state == "ok" and status.exit_code == 0 and status.wall_s > 0
    result = EvalResult.model_validate(fetched.result)
    assert result.score > 0 and result.weights == spec.weights and result.runner_axis == "cpu"
    assert fetched.archive_sha256 == result.archive_sha256
    assert fetched.archive_bytes == result.archive_bytes
    archive = Path(spec.out_dir) / "submission" / "archive.zip"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == fetched.archive_sha256

    assert text == (job / "log.txt").read_text() and f"score {result.score:.4f}" in text
    assert tail == ""

    # the same spec again: the finished job is reported, nothing is started a second time
    assert again.state == "ok" and again.log_bytes == status.log_bytes
    assert (job / "pid").read_text() == pid and text.count(f"job {spec.job_id}:") == 1
    assert [d.name for d in (workdir / "jobs").iterdir()].count(spec.job_id) == 1


@pytest.mark.slow
def test_cancel_over_ssh_kills_the_job_process_group(host, weights_id, workdir):
    async def scenario(backend):
        spec = demo_spec("ssh-cancel", weights_id, backend)
        submitted = await backend.submit(spec)
        job = workdir / "jobs" / spec.job_id
        deadline = time.monotonic() + 60
        log = job / "log.txt"  # this host is the test machine: watch the log directly
        while not log.exists() or f"job {spec.job_id}:" not in log.read_text():
            assert time.monotonic() < deadline, "the job never started"
            await asyncio.sleep(0.2)
        pid = int((job / "pid").read_text())
        assert len(live_group_members(pid)) >= 2  # the supervisor and `tac job run`
        return submitted, await backend.cancel(spec.job_id), await backend.poll(spec.job_id), pid, job  # fmt: skip

    submitted, cancelled, polled, pid, job = asyncio.run(using(host, scenario))
    assert submitted.state == "running"
    assert cancelled.state == "cancelled" and polled.state == "cancelled"
    assert live_group_members(pid) == []
    assert not (job / "out" / "result.json").exists()


def test_a_checkpoint_travels_both_ways_over_ssh_and_stays_inside_the_job(host, workdir):
    """What a warm start carries: put before a child's submit, get from a parent's out/."""
    blob = bytes(range(256)) * 1000  # binary, not text: base64 on the way back

    async def scenario(backend):
        await backend.put_file("ssh-warm", "warm-start.safetensors", blob)
        back = await backend.get_file("ssh-warm", "warm-start.safetensors")
        refused = []
        for path in ("../../escape", "/etc/passwd", ".hidden"):
            with pytest.raises(BackendError) as exc:
                await backend.get_file("ssh-warm", path)
            refused.append(str(exc.value))
        with pytest.raises(BackendError, match="has no nerv/none.safetensors"):
            await backend.get_file("ssh-warm", "nerv/none.safetensors")
        return back, refused

    back, refused = asyncio.run(using(host, scenario))
    assert back == blob
    assert (workdir / "jobs" / "ssh-warm" / "out" / "warm-start.safetensors").read_bytes() == blob
    assert all("is not a plain path inside job ssh-warm's out/" in r for r in refused)
