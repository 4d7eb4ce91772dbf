"""What the stand-in GPU must do, checked in a process that has it (``tests/test_fakegpu.py``).

    PYTHONPATH=tests/fakegpu python tests/fakegpu/checks.py   # prints {"check name": "ok" | error}

Each check fails if the stand-in stops behaving like a GPU in a way that matters to a lesson:
mix-ups must raise, conversions must copy, training must give the CPU's numbers bit for bit
(then a lesson's self-check decides on the same numbers as on the CPU, and anything that
differs on the stand-in is a device bug, not noise). The last checks are the helpers' own
device promises (Grad-CAM, prediction grids, features, fit/resume) with the model on the
device; on a CUDA machine ``tests/test_hooks.py`` and ``tests/test_plots.py`` check the same
with ``.cuda()``.
"""
from __future__ import annotations

import io
import json
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the course folder, for helpers

import helpers  # noqa: E402,F401  (first, as in every lesson)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from helpers.device import get_device  # noqa: E402

CHECKS = {}
DEVICE = get_device()


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def raises(exc_type, text, fn):
    try:
        fn()
    except exc_type as err:
        assert text in str(err), f"raised {type(err).__name__} without {text!r}: {err}"
        return
    raise AssertionError(f"did not raise {exc_type.__name__} ({text!r})")


def small_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.ReLU6(inplace=True), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(8, 3))


@check
def get_device_picks_the_stand_in():
    assert DEVICE.type == "fakegpu", DEVICE
    assert torch.zeros(2, device=DEVICE).device.type == "fakegpu"
    assert torch.randn(2).to(DEVICE).device.type == "fakegpu"


@check
def a_cpu_batch_into_a_device_model_raises():
    model = nn.Linear(4, 2).to(DEVICE)
    raises(RuntimeError, "Expected all tensors to be on the same device", lambda: model(torch.randn(3, 4)))
    assert model(torch.randn(3, 4).to(DEVICE)).device.type == "fakegpu"


@check
def comparing_across_devices_raises():
    model = nn.Linear(4, 2).to(DEVICE)
    raises(RuntimeError, "same device", lambda: torch.equal(model.weight, model.weight.detach().cpu()))
    raises(RuntimeError, "same device", lambda: torch.cat([model.weight.detach(), torch.zeros(1, 4)]))
    assert torch.equal(model.weight.detach().cpu(), model.weight.detach().cpu())


@check
def cpu_scalars_mix_as_on_cuda():
    t = torch.ones(3, device=DEVICE)
    assert (t * torch.tensor(2.0)).sum().item() == 6.0  # a 0-dim CPU tensor is allowed, as on CUDA


@check
def numpy_needs_cpu_first():
    t = torch.linspace(0, 1, 5, device=DEVICE, requires_grad=True)
    raises(TypeError, "Use Tensor.cpu()", lambda: t.detach().numpy())
    raises(TypeError, "Use Tensor.cpu()", lambda: t.numpy())  # the device check comes first, as in PyTorch
    raises(TypeError, "Use Tensor.cpu()", lambda: np.asarray(t.detach()))
    raises(RuntimeError, "requires grad", lambda: t.cpu().numpy())
    assert t.detach().cpu().numpy().shape == (5,)
    assert t.tolist() == t.detach().cpu().tolist() and f"{t.sum():.1f}" == "2.5"


@check
def cpu_copies_never_alias_and_views_do():
    x = torch.arange(4.0, device=DEVICE)
    view = x.detach()
    view[0] = 10.0
    assert x[0].item() == 10.0, "a view on the device shares memory"
    copy = x.cpu()
    copy[1] = -1.0
    assert x[1].item() == 1.0, ".cpu() must copy"
    with torch.inference_mode():
        copy = x.to("cpu")
        copy[2] = -1.0
    assert x[2].item() == 2.0, ".to('cpu') must copy (also under inference_mode)"


@check
def list_and_numpy_indices_work_as_on_cuda():
    # t[:, [1, 3]] = 0 (lesson 06's channel ablation): a list index is an index tensor on CUDA too
    x = torch.arange(12.0, device=DEVICE).reshape(2, 6)
    y = x.clone()
    y[:, [1, 3]] = 0
    assert y.device.type == "fakegpu" and y.cpu()[:, [1, 3]].abs().sum().item() == 0
    assert x[:, [0, 2]].cpu().tolist() == [[0.0, 2.0], [6.0, 8.0]]
    assert x[0, np.array([5, 4])].cpu().tolist() == [5.0, 4.0]
    assert x[:, [True, False, True, False, False, False]].shape == (2, 2)
    assert x[:, []].shape == (2, 0)
    z = x.clone()
    z[:, []] = 1.0
    assert torch.equal(z.cpu(), x.cpu())
    x[:, torch.tensor([0, 2])]  # a device tensor indexed with CPU indices: CUDA allows it


@check
def a_cpu_tensor_indexed_with_device_indices_raises():
    # the other way round CUDA refuses (lesson 05.3's bug: a CPU tensor scattered at device labels)
    cpu = torch.arange(6.0).reshape(2, 3)
    index = torch.tensor([2, 0], device=DEVICE)
    raises(RuntimeError, "indices should be either on cpu", lambda: cpu[torch.arange(2), index])
    raises(RuntimeError, "indices should be either on cpu", lambda: cpu.index_put_((torch.arange(2), index),
                                                                                     torch.tensor(1.0)))


@check
def factories_follow_the_device():
    x = torch.tensor([1.0, 2.0], device=DEVICE, requires_grad=True)
    assert x.is_leaf and x.device.type == "fakegpu"
    assert torch.eye(3, device=DEVICE).shape == (3, 3) and torch.arange(5, device=DEVICE).sum().item() == 10
    assert x.new_tensor([3.0]).device.type == "fakegpu"
    torch.set_default_device(DEVICE)
    try:
        assert torch.tensor([1.0]).device.type == "fakegpu" and torch.zeros(2).device.type == "fakegpu"
    finally:
        torch.set_default_device("cpu")
    assert torch.tensor([1.0]).device.type == "cpu"
    # in another thread too (a DataLoader's pin thread, a student's threading.Thread)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        made = pool.submit(lambda: torch.as_tensor([1, 2], device=DEVICE) + torch.tensor(1, device=DEVICE)).result()
    assert made.device.type == "fakegpu" and made.tolist() == [2, 3]


@check
def training_on_the_device_gives_the_cpus_numbers():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 3, (16,), generator=g)
    results = {}
    for name, device in (("cpu", torch.device("cpu")), ("device", DEVICE)):
        torch.manual_seed(0)
        model = small_net()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)   # built before the move, as lessons do
        params = list(model.parameters())
        model.to(device)
        assert all(a is b for a, b in zip(params, model.parameters())), "model.to() must keep the Parameters"
        for _ in range(5):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x.to(device)), y.to(device)).backward()
            optimizer.step()
        results[name] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    assert all(torch.equal(results["cpu"][k], results["device"][k]) for k in results["cpu"]), "numbers differ"
    assert not torch.equal(results["cpu"]["0.weight"], small_net_init_weight()), "nothing trained"


def small_net_init_weight():
    torch.manual_seed(0)
    return small_net()[0].weight.detach().clone()


@check
def moving_a_model_keeps_its_parameters():
    model = small_net()
    params = list(model.parameters())
    model.to(DEVICE)
    model(torch.randn(2, 3, 8, 8, device=DEVICE)).sum().backward()   # grads and a used graph
    with torch.inference_mode():
        model.to(DEVICE)                                              # already there: nothing moves
    model.to("cpu")
    model.to(DEVICE)
    assert all(a is b for a, b in zip(params, model.parameters())), "the Parameter objects changed"
    assert all(p.device.type == "fakegpu" and not p.is_inference() for p in model.parameters())


@check
def checkpoints_round_trip():
    model = small_net().to(DEVICE)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, map_location=DEVICE, weights_only=True)
    other = small_net().to(DEVICE)
    other.load_state_dict(state)
    assert all(torch.equal(a.cpu(), b.cpu()) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


@check
def loading_onto_the_device_gives_device_tensors():
    """``torch.load(..., map_location=device, weights_only=True)`` gives device tensors, as ``map_location="cuda"`` does
    (CPU tensors here once hid a resume bug that crashes on a real GPU), with every form of
    ``map_location``; ``map_location="cpu"`` gives CPU tensors."""
    buffer = io.BytesIO()
    torch.save({"model": small_net().state_dict(), "rng": torch.get_rng_state(), "keys": [torch.arange(3)]}, buffer)
    for location in (DEVICE, "fakegpu", "fakegpu:0", {"cpu": "fakegpu:0"}):
        buffer.seek(0)
        loaded = torch.load(buffer, map_location=location, weights_only=True)
        tensors = [*loaded["model"].values(), loaded["rng"], *loaded["keys"]]
        assert all(t.device.type == "fakegpu" for t in tensors), (location, {t.device for t in tensors})
        raises(TypeError, "Use Tensor.cpu()", lambda: loaded["keys"][0].numpy())
        assert hasattr(loaded["model"], "_metadata"), "a state_dict keeps its metadata"
    buffer.seek(0)
    loaded = torch.load(buffer, map_location="cpu", weights_only=True)
    assert all(t.device.type == "cpu" for t in loaded["model"].values())


@check
def saved_on_the_device_loads_back_onto_it():
    """A file saved from device tensors loads onto the device without ``map_location`` (as a CUDA
    file does), and onto the CPU with ``map_location="cpu"``."""
    model = small_net().to(DEVICE)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    for location, kind in ((None, "fakegpu"), ("cpu", "cpu"), (DEVICE, "fakegpu")):
        buffer.seek(0)
        state = torch.load(buffer, map_location=location, weights_only=True)
        assert {t.device.type for t in state.values()} == {kind}, (location, {t.device for t in state.values()})
    assert torch.equal(state["0.weight"].cpu(), model[0].weight.detach().cpu())


@check
def rng_states_loaded_onto_the_device_still_restore():
    """A student's ``load_checkpoint(..., map_location=device)`` puts the saved random-number
    states on the GPU; ``set_rng_state`` must still take them (NumPy and torch want CPU values)."""
    from helpers.run import rng_state, set_rng_state

    generator = torch.Generator().manual_seed(3)
    state = rng_state(generator)
    expected = (np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item())
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    on_device = torch.load(buffer, map_location=DEVICE, weights_only=True)
    assert on_device["numpy"]["keys"].device.type == "fakegpu"
    set_rng_state(on_device, generator)
    assert (np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item()) == expected


@check
def early_stopping_resumed_on_the_device():
    """Best weights that come back from a checkpoint (on the CPU) go beside the model's (on the
    device) when training resumes: no device mix-up."""
    from helpers.callbacks import EarlyStopping
    from helpers.history import History

    class Run:
        model = small_net().to(DEVICE)
        history = History.from_dict({"epoch": [1, 2], "val_loss": [0.5, 0.7], "train_loss": [1, 1],
                                     "train_acc": [0, 0], "val_acc": [0, 0], "lr": [0, 0], "seconds": [0, 0]})
        stop = False

    stopper = EarlyStopping(patience=5)
    stopper.load_state_dict({"best": 0.5, "best_epoch": 1, "wait": 1, "stopped_epoch": None,
                             "best_state": {k: v.detach().cpu() for k, v in small_net().state_dict().items()}})
    stopper.on_train_begin(Run)
    stopper.on_epoch_end(Run, {"epoch": 3, "val_loss": 0.9})
    assert {t.device.type for t in stopper._best_state.values()} == {"fakegpu"}


@check
def grad_cam_with_the_model_on_the_device():
    from helpers.hooks import class_activation_map

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))
    x = torch.randn(1, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    expected, idx = class_activation_map(model, x, model[2])
    model.to(DEVICE)
    for image in (x, x.to(DEVICE)):                                   # image on the CPU, then on the device
        cam, device_idx = class_activation_map(model, image, model[2])
        assert cam.device.type == "cpu" and device_idx == idx and torch.allclose(cam, expected, atol=1e-5)


@check
def prediction_grid_with_the_model_on_the_device():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.data import Preprocess
    from helpers.plots import plot_predictions, show_batch

    lite = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([1.0, 0.0]))                 # always class 0
    model.to(DEVICE)
    images, labels = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 0, 1])
    for imgs, labs in ((images, labels), (images.to(DEVICE), labels.to(DEVICE))):
        fig = plot_predictions(model, imgs, labs, ["cat", "dog"], lite, n=4, ncols=2)
        assert [ax.title.get_text() for ax in fig.axes] == ["cat(cat)", "cat(dog)", "cat(cat)", "cat(dog)"]
        plt.close(fig)
    plt.close(show_batch(images.to(DEVICE), labels.to(DEVICE), ["cat", "dog"], lite, n=4))


@check
def fit_and_resume_on_the_device():
    from helpers.callbacks import EarlyStopping, ModelCheckpoint
    from helpers.train import fit, predict, seed_everything

    g = torch.Generator().manual_seed(2)
    x = torch.randn(48, 3, 8, 8, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long()
    loaders = {"train": DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8, shuffle=True),
               "val": DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8)}

    def run(epochs, folder, resume=None, device=DEVICE):
        seed_everything(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        last = Path(folder) / "last.pt"
        history = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=epochs, device=device,
                      callbacks=[ModelCheckpoint(last, save_best_only=False), EarlyStopping(patience=10)],
                      resume_from=resume, progress=False)
        assert next(model.parameters()).device.type == "fakegpu"
        return history.as_dict()["val_loss"], predict(model, loaders["val"])[2]

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        straight, probs = run(4, a)
        run(2, b, device="fakegpu")                                   # a string, as tutorials write it
        # written on the device, the file opens on a machine without one (no map_location needed)
        saved = torch.load(Path(b) / "last.pt", weights_only=True)
        tensors = [*saved["model_state"].values(), saved["rng"]["torch"],
                   *[t for state in saved["optimizer_state"]["state"].values() for t in state.values()
                     if isinstance(t, torch.Tensor)]]
        assert {t.device.type for t in tensors} == {"cpu"}, {t.device for t in tensors}
        resumed, resumed_probs = run(4, b, resume=Path(b) / "last.pt")
    assert probs.device.type == "cpu"
    assert resumed[-2:] == straight[-2:] and torch.equal(resumed_probs, probs), "resume on the device differs"


def main() -> None:
    results = {}
    for name, fn in CHECKS.items():
        try:
            fn()
            results[name] = "ok"
        except Exception:  # noqa: BLE001 - every failure is reported by name
            results[name] = traceback.format_exc(limit=6)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
