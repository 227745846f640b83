"""Scorer networks: official structure, strict safetensors round trips, clear weight errors."""

import pytest
import torch
from safetensors.torch import save_file

from tac.contest.networks import PoseNet, SegNet
from tac.contest.weights import load_state_dict_strict, resolve_weights, standin_weights
from tac.errors import TacError


@pytest.fixture(scope="module")
def posenet():
    torch.manual_seed(1)
    return PoseNet().eval()


@pytest.fixture(scope="module")
def segnet():
    torch.manual_seed(1)
    return SegNet().eval()


def test_posenet_state_dict_has_the_official_layout(posenet):
    keys = set(posenet.state_dict())
    for key in [
        "_mean",
        "_std",
        "vision.stem.0.conv_kxk.0.conv.weight",
        "summarizer.0.weight",
        "summarizer.2.block_a.1.bn.running_mean",
        "summarizer.2.block_b.5.bn.weight",
        "hydra.resblock.block_a.0.weight",
        "hydra.in_layer.pose.weight",
        "hydra.res_layer.pose.2.weight",
        "hydra.final_layer.pose.bias",
    ]:
        assert key in keys, key
    assert posenet.state_dict()["_mean"].shape == (1, 12, 1, 1)
    assert float(posenet.state_dict()["_std"].flatten()[0]) == 63.75
    assert posenet.hydra.final_layer["pose"].out_features == 12


def test_posenet_forward_shape(posenet):
    with torch.inference_mode():
        assert posenet(torch.rand(2, 12, 192, 256) * 255).shape == (2, 12)


def test_segnet_forward_shape(segnet):
    with torch.inference_mode():
        assert segnet(torch.rand(1, 3, 384, 512) * 255).shape == (1, 5, 384, 512)


@pytest.mark.parametrize("which", ["posenet", "segnet"])
def test_strict_safetensors_round_trip(which, posenet, segnet, tmp_path):
    net = posenet if which == "posenet" else segnet
    path = tmp_path / f"{which}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    torch.manual_seed(99)
    fresh = PoseNet() if which == "posenet" else SegNet()
    load_state_dict_strict(fresh, path, which)
    for k, v in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k


def test_wrong_network_weights_are_one_clear_line(posenet, tmp_path):
    path = tmp_path / "posenet.safetensors"
    save_file({k: v.contiguous() for k, v in posenet.state_dict().items()}, str(path))
    with pytest.raises(TacError, match="not SegNet weights") as exc:
        load_state_dict_strict(SegNet(), path, "SegNet")
    assert "\n" not in str(exc.value)


def test_wrong_shape_is_refused(posenet, tmp_path):
    state = {k: v.contiguous() for k, v in posenet.state_dict().items()}
    state["hydra.final_layer.pose.weight"] = torch.zeros(6, 32)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path))
    with pytest.raises(TacError, match="size mismatch"):
        load_state_dict_strict(PoseNet(), path, "PoseNet")


def test_lfs_pointer_gets_a_clear_error(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:0f3a0874c5c387f990d7b88bd1d7e1f6de35d98b45f2a289989db2c77b9b6576\nsize 55835560\n"
    )
    (models / "posenet.safetensors").write_text(pointer)
    (models / "segnet.safetensors").write_text(pointer)
    with pytest.raises(TacError, match="git-lfs pointer.*git lfs pull"):
        resolve_weights(challenge_dir=tmp_path)


def test_garbage_file_is_not_a_crash(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(TacError, match="not a readable safetensors"):
        load_state_dict_strict(PoseNet(), path, "PoseNet")


def test_custom_weights_are_labelled_not_official(posenet, segnet, tmp_path):
    for name, net in (("posenet", posenet), ("segnet", segnet)):
        save_file(
            {k: v.contiguous() for k, v in net.state_dict().items()},
            str(tmp_path / f"{name}.safetensors"),
        )
    w = resolve_weights(tmp_path / "posenet.safetensors", tmp_path / "segnet.safetensors")
    assert not w.official and w.weights_id.startswith("custom:")


def test_standin_weights_are_the_shipped_segnet_and_the_seeded_posenet():
    from safetensors.torch import load_file

    from tac.contest.weights import make_seeded_posenet, standin_recipe

    w = standin_weights()
    assert w.kind == "stand-in" and not w.official
    assert w.weights_id.startswith(f"stand-in:{w.seed}:") and "SegNet trained" in w.describe()
    # the recipe records the bytes training wrote: the shipped SegNet is exactly those
    assert standin_recipe()["sha256"] == {w.segnet_path.name: w.segnet_sha256}
    # the cached PoseNet is what the seed draws
    fresh = make_seeded_posenet(w.seed).state_dict()
    cached = load_file(str(w.posenet_path))
    assert cached.keys() == fresh.keys() and all(torch.equal(cached[k], fresh[k]) for k in fresh)
    assert resolve_weights().weights_id == w.weights_id == standin_weights().weights_id


def test_resblock_matches_the_official_in_place_relu_semantics():
    """The official block_b opens with ReLU(inplace=True), which rectifies `a` itself before the
    residual sum. An independent module written that way must agree with tac's bit for bit."""
    import torch.nn as nn

    from tac.contest.networks import AllNorm, ResBlock

    class OfficialStyle(nn.Module):
        def __init__(self, f):
            super().__init__()
            w = 2 * f
            self.block_a = nn.Sequential(
                nn.Linear(f, w), AllNorm(w), nn.ReLU(inplace=True), nn.Linear(w, f), AllNorm(f)
            )
            self.block_b = nn.Sequential(
                nn.ReLU(inplace=True),
                nn.Linear(f, w),
                AllNorm(w),
                nn.ReLU(inplace=True),
                nn.Linear(w, f),
                AllNorm(f),
            )
            self.final_relu = nn.ReLU(inplace=False)

        def forward(self, x):
            a_out = x + self.block_a(x)
            return self.final_relu(a_out + self.block_b(a_out))

    torch.manual_seed(3)
    ours = ResBlock(8).eval()
    theirs = OfficialStyle(8).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(5, 8) * 3
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x.clone()))
        naive = torch.relu((x + ours.block_a(x)) + ours.block_b(x + ours.block_a(x)))
    assert not torch.equal(ours(x), naive)  # the spec text's reading differs


def test_a_scorer_loaded_in_a_thread_builds_its_networks_once(monkeypatch):
    """A job loads the networks in a thread while inflate runs; scoring that asks for them
    meanwhile waits for that build instead of starting a second one."""
    import threading
    import time

    from tac.contest import scorer as scorer_module

    builds = []

    def slow_build(weights, device):
        builds.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the main thread to ask while the build runs
        return "posenet", "segnet"

    monkeypatch.setattr(scorer_module, "build_scorers", slow_build)
    scorer = scorer_module.Scorer(weights=None)
    loading = threading.Thread(target=scorer.load)
    loading.start()
    time.sleep(0.05)
    nets = (scorer.posenet, scorer.segnet)
    loading.join()
    assert nets == ("posenet", "segnet")
    assert builds == [loading.ident]
