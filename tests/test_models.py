import time

import pytest
import torch
from torch import nn
from torchvision import models

from helpers import models as hm


def test_fallback_is_offline_and_says_why():
    start = time.perf_counter()
    pre = hm.load_pretrained("resnet18", verbose=False)
    assert time.perf_counter() - start < 60
    if pre.is_fallback:  # no resnet18 weights on this machine
        assert pre.arch == "efficientnet_lite0"
        assert "resnet18" in pre.source and "COURSE_OFFLINE" in pre.source
        assert pre.preprocess.mean == (0.5, 0.5, 0.5)
    model, preprocess, source = pre  # unpacks like a tuple
    assert isinstance(model, nn.Module) and source == pre.source


def test_packaged_lite0_is_really_imagenet_pretrained():
    """On a real photo (matplotlib's Grace Hopper) trained weights name what is in it; random ones can't."""
    import matplotlib
    from PIL import Image

    path = f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg"
    x = hm.LITE0_PREPROCESS(Image.open(path).convert("RGB")).unsqueeze(0)
    categories = hm.imagenet_categories()
    assert len(categories) == 1000
    model = hm.load_efficientnet_lite0().eval()
    with torch.no_grad():
        probs = model(x).softmax(1)[0]
    expected = {"military uniform", "academic gown", "mortarboard", "suit", "Windsor tie"}
    top5 = {categories[i] for i in probs.topk(5).indices}
    assert top5 & expected, top5
    torch.manual_seed(0)
    untrained = hm.untrained("efficientnet_lite0").eval()
    with torch.no_grad():
        random_probs = untrained(x).softmax(1)[0]
    idx = [categories.index(c) for c in expected]
    assert probs[idx].sum() > 20 * random_probs[idx].sum()


def test_cached_torchvision_weights_are_used(tmp_path, monkeypatch):
    """A weights file in the course cache is loaded instead of the fallback."""
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(tmp_path))
    weights = models.get_model_weights("resnet18").DEFAULT
    torch.manual_seed(0)
    reference = models.resnet18()
    torch.save(reference.state_dict(), tmp_path / weights.url.rsplit("/", 1)[1])
    pre = hm.load_pretrained("resnet18", allow_download=False)
    assert pre.arch == "resnet18" and not pre.is_fallback
    assert str(tmp_path) in pre.source
    assert torch.equal(pre.model.fc.weight, reference.fc.weight)
    assert pre.preprocess.mean == (0.485, 0.456, 0.406)


def test_unknown_arch_is_explained():
    with pytest.raises(ValueError, match="unknown architecture"):
        hm.load_pretrained("resnet9000")


@pytest.mark.parametrize("arch,head", [("resnet18", "fc"), ("vgg16", "classifier.6"),
                                       ("mobilenet_v2", "classifier.1")])
def test_replace_head_torchvision(arch, head):
    model = models.get_model(arch, weights=None)
    hm.set_parameter_requires_grad(model)
    new = hm.replace_head(model, 2)
    assert model.get_submodule(head) is new and new.out_features == 2
    assert hm.trainable_parameter_names(model) == [f"{head}.weight", f"{head}.bias"]


def test_replace_head_lite0_and_blocks():
    model = hm.load_efficientnet_lite0()
    hm.freeze(model)
    hm.replace_head(model, 3)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 3)
    names = [n for n, _ in hm.backbone_blocks(model)]
    assert names[0] == "stem" and names[-2:] == ["conv_head", "classifier"]
    unfrozen = hm.unfreeze_last(model, 2)
    assert unfrozen == ["conv_head", "classifier"]
    trainable = hm.trainable_parameter_names(model)
    assert all(n.startswith(("conv_head", "bn2", "classifier")) for n in trainable)
    assert not model.blocks[6][0].conv_pw.weight.requires_grad


def test_vgg_blocks_split_at_pooling():
    model = models.vgg16(weights=None)
    names = [n for n, _ in hm.backbone_blocks(model)]
    assert names == [f"features.block{i}" for i in range(1, 6)] + ["classifier"]
    convs_per_block = [sum(p.dim() == 4 for p in params) for _, params in hm.backbone_blocks(model)]
    assert convs_per_block == [2, 2, 3, 3, 3, 0]


def test_layerwise_learning_rates_shrink_towards_input():
    model = models.resnet18(weights=None)
    hm.freeze(model)
    hm.unfreeze_last(model, 3)  # layer3, layer4, fc
    groups = hm.layerwise_param_groups(model, head_lr=1e-2, decay=0.1)
    assert [g["name"] for g in groups] == ["layer3", "layer4", "fc"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-3, 1e-2])
    optimizer = torch.optim.SGD(groups, lr=0.5)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([1e-4, 1e-3, 1e-2])


def test_set_parameter_requires_grad_both_ways():
    model = models.resnet18(weights=None)
    hm.set_parameter_requires_grad(model)
    assert hm.count_parameters(model, trainable_only=True) == 0
    hm.set_parameter_requires_grad(model, feature_extracting=False)
    assert hm.count_parameters(model, trainable_only=True) == hm.count_parameters(model)


def test_offline_env_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(tmp_path))

    def no_download(*args, **kwargs):
        raise AssertionError("COURSE_OFFLINE=1 must not try the network")

    monkeypatch.setattr(hm, "_download", no_download)
    pre = hm.load_pretrained("vgg16", verbose=False)
    assert pre.is_fallback and "offline mode" in pre.source


def test_fetch_weights_cli_explains_missing_network(monkeypatch, tmp_path, capsys):
    import urllib.error

    def fail(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(hm, "_download", fail)
    assert hm.fetch_weights_cli(["resnet18", "--dir", str(tmp_path)]) == 1
    assert "machine with internet" in capsys.readouterr().err


def test_fetch_weights_cli_writes_into_folder(monkeypatch, tmp_path, capsys):
    def fake_download(url, dst, timeout=0):
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b"x")

    monkeypatch.setattr(hm, "_download", fake_download)
    assert hm.fetch_weights_cli(["resnet18", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "resnet18-f37072fd.pth").is_file()


def test_download_with_wrong_hash_prefix_is_deleted(monkeypatch, tmp_path):
    def fake_fetch(url, dst, timeout=0):
        dst.write_bytes(b"not the real weights")

    monkeypatch.setattr(hm, "fetch", fake_fetch)
    target = tmp_path / "resnet18-f37072fd.pth"
    with pytest.raises(OSError, match="hash prefix f37072fd"):
        hm._download("http://127.0.0.1:9/resnet18-f37072fd.pth", target)
    assert not target.exists()
