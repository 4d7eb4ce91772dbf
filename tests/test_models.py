import dataclasses
import gc
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision import models

from helpers import cli
from helpers import download as dl
from helpers import models as hm
from helpers import weights as hw
from helpers.data import Preprocess


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty course weight cache and torch hub cache; fallback notices not yet shown."""
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the user's course cache, empty too
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(hw, "_notices_shown", set())
    return tmp_path / "weights"


def no_network(*args, **kwargs):
    raise AssertionError("this call must not try the network")


def test_default_is_the_packaged_backbone_without_network(monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)  # downloads allowed, still none tried
    monkeypatch.setattr(hw, "_download", no_network)
    monkeypatch.setattr(hw, "fetch", no_network)
    pre = hm.load_pretrained()
    assert pre.arch == pre.requested == "efficientnet_lite0" and not pre.is_fallback
    assert pre.preprocess.mean == (0.5, 0.5, 0.5)
    model, preprocess, source = pre  # unpacks like a tuple
    assert isinstance(model, nn.Module) and source == pre.source


def test_fallback_notice_is_korean_once_with_the_command_and_the_folder(empty_cache, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    first = hm.load_pretrained("resnet18")
    second = hm.load_pretrained("resnet18")
    out = capsys.readouterr()
    text = out.out + out.err
    assert first.is_fallback and second.is_fallback and first.arch == "efficientnet_lite0"
    assert text.count("[load_pretrained]") == 1  # once per process for this arch
    command = cli.course_command("course-fetch-weights", "resnet18")
    assert f"`{command}`" in text  # copy-pasteable, with its path in this environment
    assert "bin" in command or "Scripts" in command or "-m helpers.weights" in command
    assert cli.display_path(empty_cache) in text and "COURSE_WEIGHTS_DIR" in text  # where to copy
    assert "COURSE_OFFLINE" in first.source and "resnet18-f37072fd.pth" in first.source
    assert sum("\uac00" <= ch <= "\ud7a3" for ch in text) > 30  # Korean prose
    hm.load_pretrained("vgg16")  # another arch gets its own notice
    assert "[load_pretrained]" in capsys.readouterr().out


def test_packaged_lite0_is_really_imagenet_pretrained():
    """On a real photo (matplotlib's Grace Hopper) trained weights name what is in it; random ones can't."""
    import matplotlib
    from PIL import Image

    path = f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg"
    x = Preprocess(**hw.LITE0_PREPROCESSING)(Image.open(path).convert("RGB")).unsqueeze(0)
    categories = hw.imagenet_categories()
    assert len(categories) == 1000
    model = hw.load_efficientnet_lite0().eval()
    with torch.no_grad():
        probs = model(x).softmax(1)[0]
    expected = {"military uniform", "academic gown", "mortarboard", "suit", "Windsor tie"}
    top5 = {categories[i] for i in probs.topk(5).indices}
    assert top5 & expected, top5
    torch.manual_seed(0)
    untrained = hw.untrained("efficientnet_lite0").eval()
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
    model = hw.load_efficientnet_lite0()
    hm.set_parameter_requires_grad(model)
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
    hm.set_parameter_requires_grad(model)
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


def test_offline_env_never_downloads(empty_cache, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setattr(hw, "_download", no_network)
    pre = hm.load_pretrained("vgg16", verbose=False)
    assert pre.is_fallback and "COURSE_OFFLINE=1" in pre.source


def test_failed_download_falls_back_and_leaves_nothing(empty_cache, monkeypatch, capsys):
    """Downloads allowed, server unreachable (loopback port 9): the packaged backbone, a notice, no file."""
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    weights = models.get_model_weights("resnet18").DEFAULT
    monkeypatch.setattr(type(weights), "url", property(lambda self: "http://127.0.0.1:9/resnet18-f37072fd.pth"))
    pre = hm.load_pretrained("resnet18")
    assert pre.is_fallback and "127.0.0.1:9" in pre.source
    assert "[load_pretrained]" in capsys.readouterr().out
    assert not empty_cache.exists() or list(empty_cache.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_cached_weights_are_reported_and_fall_back(damage, empty_cache, monkeypatch, capsys):
    """Today's failure: UnpicklingError naming no file and advising weights_only=False."""
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    empty_cache.mkdir(parents=True)
    path = empty_cache / "resnet18-f37072fd.pth"
    if damage == "truncated":
        torch.save(models.resnet18().state_dict(), path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(b"<html>a proxy's login page, saved under the weights' name</html>" * 100)
    pre = hm.load_pretrained("resnet18")
    assert pre.is_fallback and pre.arch == "efficientnet_lite0"
    text = capsys.readouterr().out
    for where in (pre.source, text):
        assert cli.display_path(path) in where                          # which file
        assert f"rm {cli.display_path(path)}" in where                  # the fix: delete it ...
        assert cli.course_command("course-fetch-weights", "resnet18") in where  # ... and re-fetch
        assert "weights_only=False" not in where


def test_fetch_weights_cli_explains_missing_network(monkeypatch, tmp_path, capsys):
    """No network (loopback port 9): one Korean paragraph naming the URL, exit code 1, nothing written."""
    weights = models.get_model_weights("resnet18").DEFAULT
    monkeypatch.setattr(type(weights), "url", property(lambda self: "http://127.0.0.1:9/resnet18-f37072fd.pth"))
    assert hw.fetch_weights_cli(["resnet18", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("오류:")
    assert "http://127.0.0.1:9/resnet18-f37072fd.pth" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["resnet9000"], ["--bogus", "resnet18"]])
def test_fetch_weights_cli_bad_input_exits_1_in_korean(argv, tmp_path, capsys):
    try:
        code = hw.fetch_weights_cli([*argv, "--dir", str(tmp_path)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("오류:") and argv[0] in err


def test_fetch_weights_cli_writes_into_folder(monkeypatch, tmp_path, capsys):
    def fake_download(url, dst, timeout=0, progress=True):
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b"x")

    monkeypatch.setattr(hw, "_download", fake_download)
    assert hw.fetch_weights_cli(["resnet18", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "resnet18-f37072fd.pth").is_file()


def test_download_with_wrong_hash_prefix_never_appears(tmp_path):
    """A download whose SHA-256 does not start with the file name's prefix is never kept."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    site = tmp_path / "site"
    site.mkdir()
    (site / "resnet18-f37072fd.pth").write_bytes(b"not the real weights")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    target = tmp_path / "cache" / "resnet18-f37072fd.pth"
    try:
        with pytest.raises(dl.ChecksumError, match="f37072fd"):
            hw._download(f"http://127.0.0.1:{httpd.server_port}/resnet18-f37072fd.pth", target, progress=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_switched_path_with_stand_in_weights(arch, image_tree, empty_cache, monkeypatch, capsys):
    """ARCH = "resnet18" / "vgg16" with weights in the cache: the torchvision branch end to end.

    The stand-in file holds random weights under torchvision's file name; its hash does not
    match the name's prefix, which must not matter for a file found in the cache.
    """
    from helpers.data import make_loaders
    from helpers.train import fit, predict

    monkeypatch.setattr(hw, "_download", no_network)
    empty_cache.mkdir(parents=True)
    filename = Path(models.get_model_weights(arch).DEFAULT.url).name
    torch.manual_seed(0)
    stand_in = models.get_model(arch, weights=None).state_dict()
    torch.save(stand_in, empty_cache / filename)
    first_conv = next(v for k, v in stand_in.items() if k.endswith("weight") and v.dim() == 4).clone()
    del stand_in
    gc.collect()

    pre = hm.load_pretrained(arch)
    assert pre.arch == arch and not pre.is_fallback and filename in pre.source
    assert "[load_pretrained]" not in capsys.readouterr().out
    got = next(p for n, p in pre.model.named_parameters() if p.dim() == 4)
    assert torch.equal(got, first_conv)  # the cached file's weights, not a fresh init
    assert pre.preprocess.mean == (0.485, 0.456, 0.406)

    model = pre.model
    hm.set_parameter_requires_grad(model)
    head = hm.replace_head(model, num_classes=2)
    small = dataclasses.replace(pre.preprocess, resize=36, crop=32)
    loaders, class_names = make_loaders(image_tree, small, batch_size=6)
    optimizer = torch.optim.SGD(head.parameters(), lr=0.01)
    before = head.weight.detach().clone()
    history = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=1, progress=False,
                  device=torch.device("cpu"))
    assert len(history) == 1 and not torch.equal(head.weight, before)
    preds, labels, probs = predict(model, loaders["test"])
    assert preds.shape == labels.shape == (6,) and probs.shape == (6, 2) and class_names == ["blue", "red"]
    assert torch.allclose(probs.sum(1), torch.ones(6))
    del model, pre, head, optimizer
    gc.collect()



# --- the head rule on a student's own model ---------------------------------------------------


@pytest.mark.parametrize("build,expected", [
    (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10)), "4"),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Dropout(), nn.Linear(8, 3), nn.Softmax(1)), "4"),
    (lambda: nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()),
                           nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), nn.Sequential(nn.Dropout())), "1.2"),
], ids=["plain", "dropout-softmax-after", "nested"])
def test_replace_head_on_a_students_sequential(build, expected):
    from helpers.models import head_path

    model = build()
    assert head_path(model) == expected
    old = model.get_submodule(expected)
    new = hm.replace_head(model, 5)
    assert model.get_submodule(expected) is new and new.in_features == old.in_features and new.out_features == 5


def test_head_argument_names_the_head_and_errors_are_korean():
    from helpers.errors import HeadError

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.out = nn.Linear(4, 2)

    with pytest.raises(HeadError, match="head='out'") as info:
        hm.replace_head(Net(), 3)
    assert "해결" in str(info.value) and isinstance(info.value, ValueError)  # old `except ValueError` still works
    net = Net()
    assert hm.replace_head(net, 3, head="out") is net.out and net.out.out_features == 3
    with pytest.raises(HeadError, match="Linear 층이 아니라"):
        hm.replace_head(net, 3, head="body")
    with pytest.raises(HeadError, match="ReLU|Linear가 아닙니다"):
        hm.replace_head(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), 2)  # an activation after it: no head


def test_new_head_is_created_where_the_old_one_lives():
    """A model already on the GPU (here: meta) gets its new head there too: a training loop without a
    second ``.to(device)`` does not mix devices."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).to(torch.float64)
    assert hm.replace_head(model, 2).weight.dtype == torch.float64
    on_meta = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).to("meta")
    assert hm.replace_head(on_meta, 2).weight.device.type == "meta"
    torch.manual_seed(0)
    cpu_head = hm.replace_head(nn.Sequential(nn.Linear(4, 3)), 2).weight.detach().clone()
    torch.manual_seed(0)
    assert torch.equal(hm.replace_head(nn.Sequential(nn.Linear(4, 3)).to(torch.float64), 2).weight.float(), cpu_head)


# --- weights go where the user can write; any OSError falls back ---------------------------------


def _stand_in_download(calls):
    """A download that 'works' (no network): a real resnet18 state dict written to ``dst``."""
    def download(url, dst, timeout=None, progress=True):
        calls.append(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)  # what fetch does first: raises on a bad folder
        torch.save(models.resnet18().state_dict(), dst)
    return download


def test_weights_dir_under_a_file_falls_back_with_a_message(tmp_path, monkeypatch, capsys):
    """A course weights folder that cannot be created (its path runs through a regular FILE:
    NotADirectoryError, as root too) and a user cache that cannot be created either: the
    packaged backbone, with a Korean notice, instead of a traceback."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(blocker / "weights"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(hw, "_notices_shown", set())
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    calls = []
    monkeypatch.setattr(hw, "_download", lambda url, dst, **kw: _stand_in_download(calls)(url, dst))
    pre = hm.load_pretrained("resnet18")
    assert pre.is_fallback and pre.arch == "efficientnet_lite0"
    assert "쓸 수 없습니다" in pre.source and "COURSE_WEIGHTS_DIR" in pre.source
    assert "[load_pretrained]" in capsys.readouterr().out


def test_read_only_course_weights_go_to_the_user_cache(tmp_path, monkeypatch):
    """The course weights folder is read-only (os.access says so: chmod does not stop root):
    the download goes to ~/.cache/dl-course/weights, is found there next time, and is used."""
    import os

    from helpers import paths

    course = tmp_path / "course-weights"
    course.mkdir()
    monkeypatch.setenv("COURSE_WEIGHTS_DIR", str(course))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    real_access = os.access
    monkeypatch.setattr(paths.os, "access", lambda p, mode: False if Path(p) == course else real_access(p, mode))
    calls = []
    monkeypatch.setattr(hw, "_download", lambda url, dst, **kw: _stand_in_download(calls)(url, dst))
    pre = hm.load_pretrained("resnet18", verbose=False)
    assert not pre.is_fallback and pre.arch == "resnet18"
    user = tmp_path / "user-cache" / "dl-course" / "weights"
    assert calls and calls[0].parent == user and list(course.iterdir()) == []
    monkeypatch.setattr(hw, "_download", no_network)
    assert hm.load_pretrained("resnet18", verbose=False).arch == "resnet18"  # found in the user cache


def test_writable_folder_rule(tmp_path, monkeypatch):
    from helpers import paths

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not paths._writable(blocker / "sub" / "weights")       # under a file: NotADirectoryError later
    assert paths._writable(tmp_path / "new" / "deeper")           # creatable
    assert paths.first_writable([blocker / "w", tmp_path / "ok"]) == tmp_path / "ok"
