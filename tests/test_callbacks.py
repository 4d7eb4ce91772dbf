"""Callbacks keep their state across a resume: an interrupted run ends exactly as an uninterrupted one."""
import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import CPU, SMALL, TinyNet, _write_image
from helpers.data import make_loaders
from helpers.callbacks import CSVLogger, EarlyStopping, LRScheduler, ModelCheckpoint
from helpers.train import fit, seed_everything

PATIENCE = 2


class Worsen:
    """From epoch 3 on, push the head towards class 0 after each epoch: validation loss climbs,
    so early stopping triggers (epoch 5) and the best weights (epoch 3) differ from the last ones.
    Stateless (depends on the epoch number only), so it behaves the same in a resumed run."""

    def on_epoch_end(self, run, logs):
        if logs["epoch"] >= 3:
            with torch.no_grad():
                run.model.fc.bias[0] += 4.0


class StopAt:
    """Ctrl-C (the stop button) in the middle of an epoch's callbacks: after the schedulers, before
    ``ModelCheckpoint`` (order 90) saw the epoch, so the run resumes from the epoch before."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run, logs):
        if logs["epoch"] == self.epoch:
            raise KeyboardInterrupt


def _run(image_tree, folder, epochs, resume=None, interrupt_at=None):
    seed_everything(0)
    model = TinyNet()
    loaders = make_loaders(image_tree, SMALL, batch_size=4, seed=0)[0]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    callbacks = [
        ModelCheckpoint(folder / "best.pth", monitor="val_loss"),
        ModelCheckpoint(folder / "last.pth", save_best_only=False),
        stopper,
        LRScheduler(torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)),
        LRScheduler(torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)),
        CSVLogger(folder / "log.csv"),
        Worsen(),
        *([StopAt(interrupt_at)] if interrupt_at else []),
    ]
    history = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=epochs, callbacks=callbacks,
                  device=CPU, progress=False, resume_from=resume)
    return model, history, stopper, optimizer


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Like conftest's image_tree, built once for this module (the full run is shared too)."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("toy")
    for split, n in {"train": 6, "val": 3, "test": 3}.items():
        for name, colour in (("blue", (30, 60, 200)), ("red", (200, 40, 30))):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                _write_image(root / split / name / f"{name}_{i}.png", colour, rng)
    return root


@pytest.fixture(scope="module")
def full_run(tree, tmp_path_factory):
    folder = tmp_path_factory.mktemp("full")
    return folder, _run(tree, folder, epochs=10)


def _rows(path):
    with open(path) as fh:
        return [row[:-1] for row in csv.reader(fh)]  # without the seconds column


@pytest.mark.parametrize("cut", ["died-after-2", "died-after-3", "died-after-4", "ctrl-c-in-3"])
def test_resumed_run_ends_exactly_as_uninterrupted(tree, full_run, tmp_path, cut, capsys):
    """The one exact-resume scenario (on a stand-in GPU too: tests/fakegpu/checks.py): two checkpoints,
    early stopping with restored weights, two schedulers on one optimizer (StepLR, ReduceLROnPlateau),
    a CSV log; the run cut when the kernel died after an epoch, or by Ctrl-C inside one."""
    full_dir, (full_model, full, full_stopper, full_opt) = full_run
    assert full.stopped_early and full_stopper.stopped_epoch == 3 + PATIENCE  # the scenario holds
    assert full_stopper.best_epoch == 3

    if cut.startswith("died"):  # "the kernel died" after epoch k
        _run(tree, tmp_path / "cut", epochs=int(cut[-1]))
        resume = tmp_path / "cut" / "last.pth"
    else:
        with pytest.raises(KeyboardInterrupt):  # re-raised: "Run All" stops (tests/test_stop_button.py)
            _run(tree, tmp_path / "cut", epochs=10, interrupt_at=3)
        printed = capsys.readouterr().out
        assert "끝난 에포크: 3" in printed and "에포크 2의 상태" in printed  # epoch 3's callbacks never all ran
        resume = re.search(r"fit\(\.\.\., epochs=10, resume_from='([^']+)'\)", printed).group(1)  # as printed
        assert Path(resume).parent == tmp_path / "cut"
    model, resumed, stopper, optimizer = _run(tree, tmp_path / "cut", epochs=10, resume=resume)

    assert resumed.epoch == full.epoch and resumed.stopped_early
    assert stopper.stopped_epoch == full_stopper.stopped_epoch and stopper.best_epoch == 3
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert getattr(resumed, key) == pytest.approx(getattr(full, key), rel=1e-6), key
    assert optimizer.param_groups[0]["lr"] == pytest.approx(full_opt.param_groups[0]["lr"])
    best = torch.load(full_dir / "best.pth", weights_only=True)
    best_resumed = torch.load(tmp_path / "cut" / "best.pth", weights_only=True)
    assert best["epoch"] == best_resumed["epoch"] == 3
    for key, value in full_model.state_dict().items():  # the same restored best weights
        assert torch.allclose(model.state_dict()[key].float(), value.float(), atol=1e-6), key
        assert torch.allclose(best_resumed["model_state"][key].float(), best["model_state"][key].float(),
                              atol=1e-6), key
    assert _rows(tmp_path / "cut" / "log.csv") == _rows(full_dir / "log.csv")


def test_callback_states_round_trip():
    model = TinyNet()
    stopper = EarlyStopping(patience=4)
    stopper.best, stopper.best_epoch, stopper.wait, stopper._best_state = 0.5, 2, 1, model.state_dict()
    again = EarlyStopping(patience=4)
    again.load_state_dict(stopper.state_dict())
    assert (again.best, again.best_epoch, again.wait) == (0.5, 2, 1)
    assert torch.equal(again._best_state["fc.weight"], model.fc.weight)
    saver = ModelCheckpoint("x.pth")
    saver.best, saver.best_epoch, saver.saved_epochs = 0.3, 4, [1, 4]
    other = ModelCheckpoint("x.pth")
    other.load_state_dict(saver.state_dict())
    assert (other.best, other.best_epoch, other.saved_epochs) == (0.3, 4, [1, 4])


def test_callbacks_run_in_order_and_files_hold_every_state(tree, tmp_path):
    """on_epoch_end runs by ``order`` (no order = 50); the files ModelCheckpoint asks for are written once
    every callback has seen the epoch, so the file holds EarlyStopping's state of the same epoch,
    whatever order the list was given in."""
    seen = []

    class Probe:
        def __init__(self, name, order=None):
            self.name = name
            if order is not None:
                self.order = order

        def on_epoch_end(self, run, logs):
            seen.append(self.name)

    model = TinyNet()
    loaders = make_loaders(tree, SMALL, batch_size=4, seed=0)[0]
    stopper = EarlyStopping(patience=5)
    fit(model, loaders, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.05), epochs=1,
        callbacks=[ModelCheckpoint(tmp_path / "last.pth", save_best_only=False), Probe("late", 95), Probe("plain"),
                   stopper, Probe("early", 5)], device=CPU, progress=False)
    assert seen == ["early", "plain", "late"]
    state = torch.load(tmp_path / "last.pth", weights_only=True)["callback_states"]["EarlyStopping[0]"]
    assert state["best_epoch"] == 1 and state["best"] == stopper.best
