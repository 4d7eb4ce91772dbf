"""Cached features (helpers.features): the backbone once, the head trained on tensors."""
import os

import pytest
import torch
from torch import nn

import helpers.features as features_module
from helpers.data import Preprocess, make_loaders
from helpers.features import extract_features, feature_loaders
from helpers.train import evaluate, fit

SMALL = Preprocess(resize=36, crop=32)
CPU = torch.device("cpu")


@pytest.fixture
def loaders(image_tree):
    return make_loaders(image_tree, SMALL, batch_size=4, seed=0)[0]


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

    monkeypatch.setattr(features_module, "extract_features", no_backbone)
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
