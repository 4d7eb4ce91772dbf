"""Cached features (helpers.features): the backbone once, the head trained on tensors."""
import os

import pytest
import torch
from torch import nn

import helpers.features as features_module
from helpers.features import extract_features, feature_loaders
from helpers.train import evaluate, fit
from conftest import SMALL, CPU


def test_extract_features_is_the_head_input_and_restores_the_model(tiny_net, loaders):
    head = tiny_net.fc
    tiny_net.train()
    feats, labels = extract_features(tiny_net, loaders["val"])
    assert feats.shape == (6, 4) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert not feats.requires_grad and feats.device.type == "cpu"
    tiny_net.eval()
    images = torch.cat([x for x, _ in loaders["val"]])
    with torch.no_grad():
        assert torch.allclose(feats, tiny_net.features(images), atol=1e-6)
        assert torch.allclose(head(feats), tiny_net(images), atol=1e-6)
    assert tiny_net.fc is head  # the head is back, the same object
    assert tiny_net.features[0].weight.is_contiguous()  # channels_last only during extraction


def test_head_restored_after_an_error(tiny_net):
    head = tiny_net.fc
    with pytest.raises(RuntimeError):
        extract_features(tiny_net, [(torch.zeros(2, 5, 8, 8), torch.zeros(2))])  # wrong channel count
    assert tiny_net.fc is head and tiny_net.training


def test_sequential_head_like_vgg(loaders):
    torch.manual_seed(0)
    model = nn.Sequential()
    model.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model.classifier = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.classifier = model.features, model.classifier

        def forward(self, x):
            return self.classifier(self.features(x))

    net = Wrapped()
    feats, _ = extract_features(net, loaders["val"])
    assert feats.shape == (6, 5)  # the input of classifier.2, the last Linear
    assert isinstance(net.classifier[2], nn.Linear)


def test_train_split_uses_the_eval_transform(tiny_net, loaders):
    augmenting = loaders["train"].dataset.transform
    first = feature_loaders(tiny_net, loaders)
    second = feature_loaders(tiny_net, loaders)
    a, b = first["train"].dataset.tensors[0], second["train"].dataset.tensors[0]
    assert torch.equal(a, b)  # augmentation would make two passes differ
    assert loaders["train"].dataset.transform is augmenting  # the caller's dataset is untouched
    assert first["train"].dataset.classes == ["blue", "red"]


def test_training_the_head_on_features_trains_the_full_model(tiny_net, loaders):
    floaders = feature_loaders(tiny_net, loaders, batch_size=4)
    head = tiny_net.fc
    before = evaluate(tiny_net, loaders["val"])[0]
    torch.manual_seed(0)
    history = fit(head, floaders, nn.CrossEntropyLoss(), torch.optim.SGD(head.parameters(), lr=0.5, momentum=0.9),
                  epochs=15, device=CPU, progress=False)
    assert history.val_loss[-1] < history.val_loss[0]
    full_loss, _ = evaluate(tiny_net, loaders["val"])  # the model sees the trained head
    assert full_loss == pytest.approx(history.val_loss[-1], rel=1e-4)
    assert full_loss < before


def test_disk_cache_is_reused_and_invalidated(tiny_net, loaders, tmp_path, monkeypatch, image_tree):
    cache = tmp_path / "features"
    first = feature_loaders(tiny_net, loaders, cache_dir=cache)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 3 and not any(name.endswith(".tmp") for name in files)

    def no_backbone(*args, **kwargs):
        raise AssertionError("the backbone ran although the cache was valid")

    monkeypatch.setattr(features_module, "infer", no_backbone)
    again = feature_loaders(tiny_net, loaders, cache_dir=cache)
    assert torch.equal(again["val"].dataset.tensors[0], first["val"].dataset.tensors[0])
    monkeypatch.undo()

    with torch.no_grad():  # new backbone weights: new features
        tiny_net.features[0].weight.mul_(2)
    feature_loaders(tiny_net, loaders, cache_dir=cache)
    assert len(list(cache.iterdir())) == 6
    image = next((image_tree / "val" / "red").iterdir())  # an edited image: that split again
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    feature_loaders(tiny_net, loaders, cache_dir=cache)
    assert len(list(cache.iterdir())) == 7


def test_head_weights_do_not_change_the_cache_key(tiny_net, loaders, tmp_path):
    cache = tmp_path / "features"
    feature_loaders(tiny_net, loaders, cache_dir=cache)
    with torch.no_grad():
        tiny_net.fc.weight.add_(1.0)  # training the head must not invalidate the features
    feature_loaders(tiny_net, loaders, cache_dir=cache)
    assert len(list(cache.iterdir())) == 3


# --- every student's path: strings for devices, Subset / random_split, their own models --------------


@pytest.mark.parametrize("device", ["cpu", "cpu:0", CPU], ids=["str", "str-indexed", "torch.device"])
def test_extract_features_takes_a_device_string(tiny_net, loaders, device):
    """``extract_features(model, loader, device="cpu")``, as most tutorials write it."""
    feats, labels = extract_features(tiny_net, loaders["val"], device=device)
    assert feats.shape == (6, 4) and feats.device.type == "cpu"
    assert feature_loaders(tiny_net, loaders, device=device)["train"].dataset.tensors[0].shape[1] == 4


def test_extract_features_moves_the_model_like_evaluate(tiny_net, loaders):
    """The meta device stands in for a GPU: the model is moved there (``_run_on``), as evaluate does."""
    with pytest.raises((RuntimeError, NotImplementedError)) as info:
        extract_features(tiny_net, loaders["val"], device="meta")
    assert "expected device" not in str(info.value) and "same device" not in str(info.value)
    assert next(tiny_net.parameters()).device.type == "meta"


def _split_loaders(image_tree, nested: bool, workers: int = 0):
    """The usual PyTorch idiom: one augmented ImageFolder, cut by random_split (maybe twice)."""
    from torch.utils.data import DataLoader, Subset, random_split
    from torchvision import datasets

    full = datasets.ImageFolder(image_tree / "train", transform=SMALL.train_transform())
    train, val = random_split(full, [8, 4], generator=torch.Generator().manual_seed(0))
    if nested:
        train = Subset(train, list(range(6)))
    return {"train": DataLoader(train, batch_size=4, shuffle=True, num_workers=workers),
            "val": DataLoader(val, batch_size=4, num_workers=workers)}


@pytest.mark.parametrize("nested", [False, True], ids=["random_split", "subset-of-random_split"])
def test_random_split_of_an_augmented_set_is_refused_in_korean(tiny_net, image_tree, nested):
    split = _split_loaders(image_tree, nested)
    with pytest.raises(ValueError, match="transform=preprocess.eval_transform"):
        feature_loaders(tiny_net, split)


@pytest.mark.parametrize("nested,workers", [(False, 0), (True, 0), (False, 2)],
                         ids=["random_split", "subset-of-random_split", "num_workers=2"])
def test_random_split_gets_the_eval_transform_through_the_wrappers(tiny_net, image_tree, nested, workers):
    """With the evaluation transform named, every split's features are those of that transform:
    the same on every call (no augmentation leaks in), and the class names come through."""
    split = _split_loaders(image_tree, nested, workers)
    first = feature_loaders(tiny_net, split, transform=SMALL.eval_transform())
    second = feature_loaders(tiny_net, split, transform=SMALL.eval_transform())
    for name in ("train", "val"):
        assert torch.equal(first[name].dataset.tensors[0], second[name].dataset.tensors[0]), name
    assert first["train"].dataset.classes == ["blue", "red"]
    # equal to the features of the same images through an eval-only dataset
    from torchvision import datasets

    plain = datasets.ImageFolder(image_tree / "train", transform=SMALL.eval_transform())
    indices = split["val"].dataset.indices
    expected, _ = extract_features(tiny_net, [(torch.stack([plain[i][0] for i in indices]), torch.zeros(len(indices)))])
    assert torch.allclose(first["val"].dataset.tensors[0], expected, atol=1e-6)


def test_subset_of_a_plain_imagefolder_with_separate_val(tiny_net, image_tree, loaders):
    """A Subset of the (augmented) train folder with a separate val folder: the val transform is used."""
    from torch.utils.data import DataLoader, Subset

    subset = {"train": DataLoader(Subset(loaders["train"].dataset, [0, 2, 4, 6]), batch_size=2),
              "val": loaders["val"]}
    a = feature_loaders(tiny_net, subset)["train"].dataset.tensors[0]
    b = feature_loaders(tiny_net, subset)["train"].dataset.tensors[0]
    assert torch.equal(a, b)


def test_a_lambda_transform_is_computed_but_not_cached(tiny_net, image_tree, tmp_path):
    """``transforms.Lambda`` prints the same whatever it computes: a cache keyed on it could hand
    back stale features, so nothing is cached, and a warning says so."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    def make(scale):
        t = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(32), transforms.ToTensor(),
                                transforms.Lambda(lambda x: x * scale)])
        ds = {s: datasets.ImageFolder(image_tree / s, transform=t) for s in ("train", "val")}
        return {s: DataLoader(d, batch_size=4) for s, d in ds.items()}

    with pytest.warns(features_module.FeatureCacheWarning, match="Lambda"):
        first = feature_loaders(tiny_net, make(1.0), cache_dir=tmp_path)
    second = feature_loaders(tiny_net, make(3.0), cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.pt"))
    assert not torch.equal(first["val"].dataset.tensors[0], second["val"].dataset.tensors[0])


def test_own_sequential_cnn_and_named_head(loaders):
    """A student's own nn.Sequential (last Linear, then Dropout/Softmax) and a custom module with head=."""
    from helpers.errors import HeadError

    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.2), nn.Linear(6, 2)), nn.Softmax(1))
    feats, _ = extract_features(seq, loaders["val"])
    assert feats.shape == (6, 6) and isinstance(seq[4][3], nn.Linear)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.out = nn.Linear(4, 2)

        def forward(self, x):
            return self.out(self.body(x))

    with pytest.raises(HeadError, match="head='out'"):
        extract_features(Net(), loaders["val"])
    assert extract_features(Net(), loaders["val"], head="out")[0].shape == (6, 4)
    assert feature_loaders(Net(), loaders, head="out")["val"].dataset.tensors[0].shape == (6, 4)
