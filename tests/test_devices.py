"""GPU students on the same path, checked on a CPU-only machine.

CI has no GPU, so three guards stand in for one (the third, every lesson run on a stand-in GPU,
is ``tests/test_fakegpu.py``):

1. Static: every lesson that trains a network (``fit(``, ``.backward(``, ``torch.optim.``) sets
   ``device = get_device()`` and sends its models/data there (``.to(device)``,
   ``device=device`` or ``torch.set_default_device(device)``), and no lesson hard-codes
   ``"cuda"`` or ``"cpu"`` as a device (``.cpu()`` before NumPy or plotting is fine).
2. Dynamic, with PyTorch's ``meta`` device as the "other" device: a model on ``meta`` fed a CPU
   tensor fails at once with "Tensor on device meta is not on the expected device cpu!",
   exactly where a CUDA model fed a CPU batch fails with "Expected all tensors to be on the
   same device". So a helper that forgets ``inputs.to(device)`` (or compares a CPU copy with
   the model's weights, or builds a tensor on the CPU and mixes it in) fails here on a laptop.
   Meta tensors hold no data, so a correct helper stops later, at its first ``.item()`` /
   ``.cpu()`` ("Cannot copy out of meta tensor"): that is the sign it did everything on
   the model's device up to reading results back, and counts as a pass.
"""
from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lesson_runs import LESSONS, TRAINS, lesson_code

MIXUP = ("is not on the expected device", "Expected all tensors to be on the same device",
         "expected device", "found at least two devices")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_training_lessons_use_get_device(path):
    code = lesson_code(path)
    if not TRAINS.search(code):
        pytest.skip("this lesson trains no network")
    assert re.search(r"^device\s*=\s*get_device\(\)", code, re.M), f"{path.name}: no `device = get_device()`"
    # .to(device), fit(..., device=device), or torch.set_default_device(device) (lesson 05's tensors)
    assert re.search(r"\.to\(device\b|device=device\b|set_default_device\(device\)", code), \
        f"{path.name}: nothing is moved to `device`"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name[:2])
def test_no_lesson_hard_codes_a_device(path):
    code = lesson_code(path)
    code = re.sub(r"#.*", "", code)  # comments may talk about cuda
    bad = re.findall(r"""\.(?:to|cuda)\(\s*["'](?:cuda|cpu)[^"']*["']|device\s*=\s*["'](?:cuda|cpu)|"""
                     r"""torch\.device\(\s*["'](?:cuda|cpu)|\.cuda\(\)""", code)
    assert not bad, f"{path.name}: hard-coded device {bad}; use `device` (and `.cpu()` only for NumPy/plots)"


def device_safe(call) -> None:
    """Run ``call``; fail only on a device mix-up (see the module docstring)."""
    try:
        call()
    except (RuntimeError, NotImplementedError, TypeError) as exc:
        message = str(exc)
        assert not any(marker in message for marker in MIXUP), f"device mix-up: {message[:300]}"
        assert "meta" in message, f"unexpected error: {type(exc).__name__}: {message[:300]}"


def cpu_loader(n: int = 4, size: int = 16) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, 3, size, size, generator=g), torch.tensor([0, 1] * (n // 2))),
                      batch_size=2)


def test_the_guard_catches_a_missing_to_device(tiny_net):
    """The mutant a real GPU would reject: inputs left on the CPU. The guard must reject it too."""
    model = tiny_net.to("meta")

    def forgetful_predict():
        with torch.no_grad():
            return [model(x) for x, _ in cpu_loader()]  # no x.to(device)

    with pytest.raises(AssertionError, match="device mix-up"):
        device_safe(forgetful_predict)


def test_predict_and_evaluate_follow_the_model(tiny_net):
    from helpers.train import evaluate, predict

    model = tiny_net.to("meta")
    device_safe(lambda: predict(model, cpu_loader()))
    device_safe(lambda: evaluate(model, cpu_loader()))


@pytest.mark.parametrize("helper", ["predict", "evaluate"])
def test_predict_and_evaluate_with_a_device_move_the_model_there(tiny_net, helper):
    """Lesson 03 reloads a checkpoint into a CPU model and evaluates it with ``device=device``:
    on a GPU the batches went to the GPU and the model stayed behind (found by tests/fakegpu)."""
    from helpers import train

    call = getattr(train, helper)
    device_safe(lambda: call(tiny_net, cpu_loader(), device=torch.device("meta")))
    assert next(tiny_net.parameters()).device.type == "meta", f"{helper}(device=...) should move the model"
    assert not any(p.is_inference() for p in tiny_net.parameters()), \
        f"{helper} moved the weights inside inference_mode: they can no longer be trained"


def test_fit_moves_model_and_batches_to_the_device(tiny_net):
    from helpers.train import fit

    loaders = {"train": cpu_loader(), "val": cpu_loader()}
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.1)
    device_safe(lambda: fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=1, progress=False,
                            device=torch.device("meta")))


def test_pretrained_backbone_predict_on_another_device():
    from helpers.models import load_pretrained, replace_head, set_parameter_requires_grad
    from helpers.train import predict

    model = load_pretrained(verbose=False).model
    set_parameter_requires_grad(model)
    replace_head(model, 2)
    device_safe(lambda: predict(model.to("meta"), cpu_loader(size=32)))


def test_plot_predictions_moves_images_to_the_model(tiny_net):
    import matplotlib.pyplot as plt

    from helpers.data import Preprocess
    from helpers.plots import plot_predictions

    images, labels = next(iter(cpu_loader()))
    try:
        device_safe(lambda: plot_predictions(tiny_net.to("meta"), images, labels, ["a", "b"], Preprocess(),
                                             n=2, ncols=2))
    finally:
        plt.close("all")


def test_class_activation_map_follows_the_model(tiny_net):
    from helpers.hooks import class_activation_map

    model = tiny_net.to("meta")
    x = torch.randn(1, 3, 16, 16)
    device_safe(lambda: class_activation_map(model, x, model.features[0]))


def test_extract_features_follows_the_model():
    features = pytest.importorskip("helpers.features")
    from helpers.models import load_pretrained

    model = load_pretrained(verbose=False).model.to("meta")
    device_safe(lambda: features.extract_features(model, cpu_loader(size=32)))


# --- a device as a string, as tutorials write it: every helper that takes one ----------------------

STRING_FORMS = ["meta", torch.device("meta"), "meta:0"]


@pytest.mark.parametrize("device", STRING_FORMS, ids=["str", "torch.device", "str-indexed"])
@pytest.mark.parametrize("helper", ["fit", "evaluate", "predict", "extract_features", "feature_loaders",
                                    "run_phase", "karate_club"])
def test_every_device_argument_takes_a_string(tiny_net, helper, device):
    """One rule (``helpers.device.as_device``) for every ``device=`` argument: a string works
    where a ``torch.device`` works, and the model goes where it says (``extract_features``
    moves it as ``evaluate`` does)."""
    from helpers import features, graphs, train

    loaders = {"train": cpu_loader(), "val": cpu_loader()}
    calls = {
        "fit": lambda: train.fit(tiny_net, loaders, nn.CrossEntropyLoss(), torch.optim.SGD(tiny_net.parameters(), lr=0.1),
                                 epochs=1, progress=False, device=device),
        "evaluate": lambda: train.evaluate(tiny_net, cpu_loader(), device=device),
        "predict": lambda: train.predict(tiny_net, cpu_loader(), device=device),
        "extract_features": lambda: features.extract_features(tiny_net, cpu_loader(), device=device),
        "feature_loaders": lambda: features.feature_loaders(tiny_net, loaders, device=device),
        "run_phase": lambda: train.run_phase(tiny_net.to("meta"), cpu_loader(), nn.CrossEntropyLoss(), device),
        "karate_club": lambda: graphs.karate_club(device=device),
    }
    try:
        device_safe(calls[helper])
    except AttributeError as exc:  # the old failure: 'str' object has no attribute 'type'
        raise AssertionError(f"{helper}(device={device!r}): {exc}") from exc
    if helper != "karate_club":
        assert next(tiny_net.parameters()).device.type == "meta", f"{helper}(device={device!r}) left the model behind"
