import csv
import os
import signal

import pytest
import torch
from torch import nn

from helpers.callbacks import CSVLogger, EarlyStopping, LRScheduler, ModelCheckpoint, read_csv_log, TensorBoardLogger
from helpers import run
from helpers.history import History
from helpers.train import evaluate, fit, predict
from helpers.device import get_device
from helpers.checkpoint import load_checkpoint
from conftest import SMALL


def _setup(tiny_net, lr=0.05):
    return tiny_net, nn.CrossEntropyLoss(), torch.optim.SGD(tiny_net.parameters(), lr=lr, momentum=0.9)


def test_fit_learns_and_returns_history(tiny_net, loaders):
    model, criterion, optimizer = _setup(tiny_net)
    before = evaluate(model, loaders["val"], criterion)[0]
    history = fit(model, loaders, criterion, optimizer, epochs=8, device=torch.device("cpu"), progress=False)
    assert isinstance(history, History) and history.epoch == list(range(1, 9))
    assert len(history.train_loss) == len(history.val_acc) == len(history.lr) == 8
    assert history.val_loss[-1] < before
    assert history.val_acc[-1] >= 0.8


def test_fit_restores_previous_mode(tiny_net, loaders):
    model, criterion, optimizer = _setup(tiny_net)
    model.eval()
    fit(model, loaders, criterion, optimizer, epochs=1, device=torch.device("cpu"), progress=False)
    assert not model.training
    model.train()
    evaluate(model, loaders["val"])
    predict(model, loaders["val"])
    assert model.training


def test_predict_shapes(tiny_net, loaders):
    preds, labels, probs = predict(tiny_net, loaders["test"])
    assert preds.shape == labels.shape == (6,)
    assert torch.allclose(probs.sum(1), torch.ones(6))
    assert torch.equal(preds, probs.argmax(1))


def test_best_only_checkpoint_holds_best_epoch(tiny_net, loaders, tmp_path):
    model, criterion, optimizer = _setup(tiny_net)
    tmp_path = tmp_path / "ckpt"
    best = ModelCheckpoint(tmp_path / "best.pth", monitor="val_loss")
    history = fit(model, loaders, criterion, optimizer, epochs=6, callbacks=[best],
                  device=torch.device("cpu"), progress=False)
    best_epoch, best_loss = history.best("val_loss")
    assert best.saved_epochs[-1] == best_epoch
    assert len(set(best.saved_epochs)) == len(best.saved_epochs)  # only on improvement
    checkpoint = load_checkpoint(tmp_path / "best.pth", model)
    assert checkpoint["epoch"] == best_epoch
    assert "optimizer_state" in checkpoint
    assert evaluate(model, loaders["val"], criterion)[0] == pytest.approx(best_loss, rel=1e-5)
    assert list(tmp_path.iterdir()) == [tmp_path / "best.pth"]  # no temp files left


def _standing_still(model):
    """An optimizer that never changes the model, and BatchNorm that keeps its statistics:
    every epoch then gives exactly the same validation loss (a perfect plateau)."""
    model.features[1].momentum = 0.0
    return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)


def test_early_stopping_stops_after_patience(tiny_net, loaders):
    optimizer = _standing_still(tiny_net)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=20, callbacks=[stopper],
                  device=torch.device("cpu"), progress=False)
    assert history.stopped_early and stopper.stopped_epoch == 3 and len(history) == 3
    assert stopper.best_epoch == 1


class Sabotage:
    """After each epoch, flip the classifier's sign: validation gets worse from epoch 2 on."""

    def on_epoch_end(self, trainer, logs):
        with torch.no_grad():
            trainer.model.fc.weight.mul_(-1 if logs["epoch"] == 1 else 1)


def test_early_stopping_restores_best_weights(tiny_net, loaders):
    model, criterion, optimizer = _setup(tiny_net)
    fit(model, loaders, criterion, optimizer, epochs=8, device=torch.device("cpu"), progress=False)
    good = model.fc.weight.detach().clone()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = fit(model, loaders, criterion, _standing_still(model), epochs=20,
                  callbacks=[stopper, Sabotage()], device=torch.device("cpu"), progress=False)
    assert history.val_loss[1] > history.val_loss[0]
    assert stopper.stopped_epoch == 3
    assert torch.equal(model.fc.weight, good)


def test_reduce_on_plateau_lowers_lr(tiny_net, loaders):
    optimizer = _standing_still(tiny_net)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    history = fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=4,
                  callbacks=[LRScheduler(plateau)], device=torch.device("cpu"), progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_csv_log_round_trip(tiny_net, loaders, tmp_path):
    model, criterion, optimizer = _setup(tiny_net)
    history = fit(model, loaders, criterion, optimizer, epochs=3, callbacks=[CSVLogger(tmp_path / "log.csv")],
                  device=torch.device("cpu"), progress=False)
    with open(tmp_path / "log.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(History.KEYS) and len(rows) == 4
    back = read_csv_log(tmp_path / "log.csv")
    assert back.epoch == history.epoch
    assert back.val_loss == pytest.approx(history.val_loss)


def test_tensorboard_event_files(tiny_net, loaders, tmp_path):
    model, criterion, optimizer = _setup(tiny_net)
    fit(model, loaders, criterion, optimizer, epochs=2, callbacks=[TensorBoardLogger(tmp_path / "tb")],
        device=torch.device("cpu"), progress=False)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"loss/train", "loss/val", "accuracy/val", "lr"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("loss/val")] == [1, 2]


def test_frozen_batchnorm_keeps_running_stats(tiny_net, loaders):
    model, criterion, _ = _setup(tiny_net)
    bn = model.features[1]
    for p in model.features.parameters():
        p.requires_grad = False
    before = bn.running_mean.clone()
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.05)
    fit(model, loaders, criterion, optimizer, epochs=1, device=torch.device("cpu"), progress=False)
    assert torch.equal(bn.running_mean, before)


def test_device_is_a_torch_device():
    assert get_device().type in {"cpu", "cuda", "mps"}


def test_resume_state_includes_a_macs_gpu_generator(monkeypatch):
    """Dropout on Apple's GPU draws from the MPS generator: a resume must put it back too."""
    saved = {"state": torch.tensor([1, 2, 3], dtype=torch.uint8)}
    monkeypatch.setattr(run, "mps_available", lambda: True)
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda *a, **k: saved["state"].clone())
    monkeypatch.setattr(torch.mps, "set_rng_state", lambda s, *a, **k: saved.update(state=s.clone()))
    state = run.rng_state()
    assert torch.equal(state["mps"], torch.tensor([1, 2, 3], dtype=torch.uint8))
    saved["state"] = torch.tensor([9, 9, 9], dtype=torch.uint8)   # the generator moved on
    run.set_rng_state(state)
    assert torch.equal(saved["state"], torch.tensor([1, 2, 3], dtype=torch.uint8)), "MPS generator not restored"


class StopBetween:
    """The stop button pressed while the epoch ends: after ModelCheckpoint asked for its file, before it is written."""

    order = 95  # after ModelCheckpoint's on_epoch_end (90)

    def on_epoch_end(self, run, logs):
        if logs["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's stop button sends


def test_ctrl_c_while_an_epoch_ends_waits_for_its_files(tiny_net, loaders, tmp_path, capsys):
    """Ctrl-C during the epoch's end is held until every file the callbacks asked for is written,
    then stops training: the file holds that epoch, and the message says how to resume from it."""
    last = tmp_path / "last.pth"
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.05)
    # Python's own Ctrl-C handler, as a kernel has it (a test runner's worker may ignore SIGINT instead)
    runner_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=5, progress=False,
                callbacks=[StopBetween(), ModelCheckpoint(last, save_best_only=False)])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Ctrl-C is Python's own again"
    finally:
        signal.signal(signal.SIGINT, runner_handler)
    assert torch.load(last, weights_only=True)["epoch"] == 2
    assert f"resume_from={str(last)!r}" in capsys.readouterr().out


def test_interrupt_without_a_checkpoint_says_how_to_get_one(tiny_net, loaders, capsys):
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.05)
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=5, progress=False,
            callbacks=[StopBetween()])
    printed = capsys.readouterr().out
    assert "이어서 할 수 없습니다" in printed and "save_best_only=False" in printed
    assert tiny_net.training, "the model's mode is restored after the interrupt too"


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "cpu:0", 0.0],
                         ids=["str", "torch.device", "indexed", "float"])
def test_device_argument_forms(tiny_net, loaders, device):
    """fit/evaluate/predict take a device as a string or a torch.device; nonsense gets a Korean error."""
    from helpers.errors import DeviceError

    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.05)
    if isinstance(device, float):
        with pytest.raises(DeviceError, match="장치"):
            evaluate(tiny_net, loaders["val"], device=device)
        return
    fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=1, device=device, progress=False)
    assert evaluate(tiny_net, loaders["val"], device=device)[1] >= 0
    assert predict(tiny_net, loaders["val"], device=device)[0].device.type == "cpu"


def test_bad_device_name_is_korean():
    from helpers.device import as_device
    from helpers.errors import DeviceError

    with pytest.raises(DeviceError, match="해결"):
        as_device("gpu")
    assert as_device("cuda:0") == torch.device("cuda", 0)
    assert as_device(torch.device("cpu")) == torch.device("cpu") and as_device(None) is None
    assert as_device(0).index == 0 and as_device(0).type != "cpu"  # an index means the accelerator, as model.to(0)


def test_random_split_loaders_record_the_class_names(image_tree, tmp_path):
    """``random_split`` parts have no ``.classes``: fit still records the names (in every checkpoint)."""
    from torch.utils.data import DataLoader, random_split
    from torchvision import datasets

    from conftest import TinyNet

    full = datasets.ImageFolder(image_tree / "train", transform=SMALL.eval_transform())
    train, val = random_split(full, [8, 4], generator=torch.Generator().manual_seed(0))
    loaders = {"train": DataLoader(train, batch_size=4, num_workers=0), "val": DataLoader(val, batch_size=4)}
    model = TinyNet()
    fit(model, loaders, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.05), epochs=1,
        progress=False, device="cpu", callbacks=[ModelCheckpoint(tmp_path / "best.pth")])
    assert torch.load(tmp_path / "best.pth", weights_only=True)["class_names"] == ["blue", "red"]


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_every_runner_restores_the_models_mode(tiny_net, loaders, mode):
    from helpers.features import extract_features

    tiny_net.train(mode == "train")
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.05)
    fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=1, progress=False, device="cpu")
    evaluate(tiny_net, loaders["val"], device="cpu")
    predict(tiny_net, loaders["val"], device="cpu")
    extract_features(tiny_net, loaders["val"], device="cpu")
    assert tiny_net.training is (mode == "train")


class StopInEpochEnd:
    """A KeyboardInterrupt raised by a callback itself, after ModelCheckpoint asked for its file: not written."""

    order = 95

    def on_epoch_end(self, run, logs):
        if logs["epoch"] == 2:
            raise KeyboardInterrupt


def test_interrupt_names_the_epoch_that_is_on_disk(tiny_net, loaders, tmp_path, capsys):
    last = tmp_path / "last.pth"
    optimizer = torch.optim.SGD(tiny_net.parameters(), lr=0.05)
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net, loaders, nn.CrossEntropyLoss(), optimizer, epochs=5, progress=False,
            callbacks=[ModelCheckpoint(last, save_best_only=False), StopInEpochEnd()])
    printed = capsys.readouterr().out
    assert torch.load(last, weights_only=True)["epoch"] == 1
    assert "에포크 1의 상태" in printed and f"resume_from={str(last)!r}" in printed


def test_a_diverging_run_stops_at_the_first_non_finite_loss_and_keeps_the_best_weights(tiny_net, loaders, tmp_path):
    """A learning rate far too high: the loss turns into nan/inf. fit stops at that batch with a Korean
    CourseError naming the epoch and batch and the fix; the weights never take the bad step; the
    checkpoint of an earlier, finite epoch is still on disk (before: all epochs ran silently with nan)."""
    from helpers.errors import CourseError, TrainingDiverged

    model, criterion, _ = _setup(tiny_net)
    fit(model, loaders, criterion, torch.optim.SGD(model.parameters(), lr=0.01), epochs=1,
        callbacks=[ModelCheckpoint(tmp_path / "best.pth")], device="cpu", progress=False)
    best = (tmp_path / "best.pth").read_bytes()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e38)
    with pytest.raises(TrainingDiverged) as info:
        fit(model, loaders, criterion, optimizer, epochs=5, callbacks=[ModelCheckpoint(tmp_path / "best.pth")],
            device="cpu", progress=False)
    message = str(info.value)
    assert isinstance(info.value, CourseError)
    assert message.startswith("에포크 1, 학습 단계") and "번째 배치" in message and "학습률" in message, message
    assert (tmp_path / "best.pth").read_bytes() == best  # nothing overwrote the finite epoch's checkpoint
