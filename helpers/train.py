"""Training: ``fit`` with explicit train/val phases, ``evaluate``, ``predict`` and callbacks.

The callbacks are the ones a Keras user knows, as small objects:

>>> from helpers.train import fit, ModelCheckpoint, EarlyStopping, LRScheduler, CSVLogger
>>> history = fit(model, loaders, criterion, optimizer, epochs=10, callbacks=[
...     ModelCheckpoint("runs/best.pth"),                # keeps only the best epoch
...     ModelCheckpoint("runs/last.pth", save_best_only=False),   # for resuming
...     EarlyStopping(patience=3),
...     LRScheduler(torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)),
...     CSVLogger("runs/log.csv")])
>>> history = fit(..., resume_from="runs/last.pth")   # continues after an interruption

A callback is any object with (some of) ``on_train_begin(trainer)`` and
``on_epoch_end(trainer, logs)``; setting ``trainer.stop = True`` ends training.
"""
from __future__ import annotations

import csv
import math
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

# --- set-up ------------------------------------------------------------------------------


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a lesson gives the same numbers each run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def get_device() -> torch.device:
    """CUDA if there is an NVIDIA GPU, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# --- history -----------------------------------------------------------------------------


@dataclass
class History:
    """Per-epoch numbers returned by ``fit``; plot them with ``helpers.plots.plot_history``."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False
    interrupted: bool = False

    KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")

    def append(self, logs: Mapping[str, float]) -> None:
        for key in self.KEYS:
            getattr(self, key).append(logs[key])

    def as_dict(self) -> dict[str, list]:
        return {key: list(getattr(self, key)) for key in self.KEYS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable]) -> "History":
        return cls(**{key: list(data.get(key, [])) for key in cls.KEYS})

    def __len__(self) -> int:
        return len(self.epoch)

    def best(self, monitor: str = "val_loss", mode: str = "min") -> tuple[int, float]:
        """(epoch, value) of the best epoch for ``monitor``."""
        values = getattr(self, monitor)
        pick = min if mode == "min" else max
        i = values.index(pick(values))
        return self.epoch[i], values[i]


# --- one pass ----------------------------------------------------------------------------


def keep_frozen_batchnorm_in_eval(model: nn.Module) -> None:
    """A BatchNorm whose weights are frozen keeps its ImageNet running statistics.

    ``model.train()`` would otherwise let small, unusual batches rewrite them even
    though "frozen" layers should not change (Keras 2+ behaves this way too).
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                module.eval()


def run_epoch(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device,
              optimizer: torch.optim.Optimizer | None = None, progress=None) -> tuple[float, float]:
    """One pass over ``loader``; trains when an optimizer is given. Returns (loss, accuracy)."""
    train = optimizer is not None
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(train):
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            if train:
                optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            if train:
                loss.backward()
                optimizer.step()
            _, preds = torch.max(outputs, 1)
            total_loss += loss.item() * inputs.size(0)  # .item(): a number, not the graph
            correct += preds.eq(labels).sum().item()
            seen += inputs.size(0)
            if progress is not None:
                progress.update(1)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module | None = None,
             device: torch.device | None = None) -> tuple[float, float]:
    """(loss, accuracy) on ``loader`` in eval mode; the model's previous mode is restored."""
    device = device or next(model.parameters()).device
    criterion = criterion or nn.CrossEntropyLoss()
    was_training = model.training
    model.eval()
    try:
        return run_epoch(model, loader, criterion, device)
    finally:
        model.train(was_training)


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(predicted class, true label, softmax probabilities) for every sample of ``loader``."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        preds, labels, probs = [], [], []
        for inputs, targets in loader:
            p = torch.softmax(model(inputs.to(device)), dim=1).cpu()
            probs.append(p)
            preds.append(p.argmax(1))
            labels.append(targets)
        return torch.cat(preds), torch.cat(labels), torch.cat(probs)
    finally:
        model.train(was_training)


# --- checkpoints -------------------------------------------------------------------------


def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    A crash or Ctrl-C mid-write leaves the previous checkpoint intact, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path: str | Path, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by ``ModelCheckpoint`` (``weights_only=True``: no pickled code).

    Restores the states it is given objects for and returns the whole checkpoint dict.
    A plain ``state_dict`` file (``torch.save(model.state_dict(), ...)``) works too.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint here. Fix: check the path, or train first "
                                "with a ModelCheckpoint callback that writes it.")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or contains arbitrary objects
        raise RuntimeError(f"{path}: cannot load this checkpoint ({exc}). Fix: delete it and train "
                           "again, or point to another .pth file.") from exc
    if "model_state" not in checkpoint:  # a bare state_dict
        checkpoint = {"model_state": checkpoint}
    if model is not None:
        model.load_state_dict(checkpoint["model_state"])
    if optimizer is not None and "optimizer_state" in checkpoint:
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    if scheduler is not None:  # one scheduler or a list, in the order of the LRScheduler callbacks
        schedulers = scheduler if isinstance(scheduler, (list, tuple)) else [scheduler]
        for sched, state in zip(schedulers, checkpoint.get("scheduler_states") or []):
            sched.load_state_dict(state)
    return checkpoint


# --- callbacks ---------------------------------------------------------------------------


def _is_better(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _default_mode(monitor: str) -> str:
    return "max" if monitor.endswith("acc") else "min"


class ModelCheckpoint:
    """Write a resumable checkpoint (model, optimizer, scheduler, epoch, history, RNG).

    ``save_best_only=True`` (default) keeps one file holding only the best epoch so far
    by ``monitor``; ``save_best_only=False`` rewrites it every epoch (``last.pth``).
    Writes are atomic.
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", mode: str | None = None,
                 save_best_only: bool = True, verbose: bool = False):
        self.path = Path(path)
        self.monitor = monitor
        self.mode = mode or _default_mode(monitor)
        self.save_best_only = save_best_only
        self.verbose = verbose
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.saved_epochs: list[int] = []

    def on_train_begin(self, trainer: "Trainer") -> None:
        h = trainer.history
        if len(h):  # resuming: the best so far is in the history
            self.best_epoch, self.best = h.best(self.monitor, self.mode)

    def on_epoch_end(self, trainer: "Trainer", logs: dict) -> None:
        value = logs[self.monitor]
        if self.save_best_only and not _is_better(value, self.best, self.mode):
            return
        if _is_better(value, self.best, self.mode):
            self.best, self.best_epoch = value, logs["epoch"]
        save_atomic(trainer.checkpoint(), self.path)
        self.saved_epochs.append(logs["epoch"])
        if self.verbose:
            print(f"epoch {logs['epoch']}: {self.monitor}={value:.4f}, saved {self.path}")


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``restore_best_weights=True`` puts the best epoch's weights back at the end, as Keras does.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, mode: str | None = None,
                 min_delta: float = 0.0, restore_best_weights: bool = True):
        self.monitor = monitor
        self.patience = patience
        self.mode = mode or _default_mode(monitor)
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self._best_state: dict | None = None

    def on_train_begin(self, trainer: "Trainer") -> None:
        self.wait, self.best, self.stopped_epoch = 0, None, None
        h = trainer.history
        for epoch, value in zip(h.epoch, getattr(h, self.monitor)):  # replay when resuming
            if _is_better(value, self.best, self.mode, self.min_delta):
                self.best, self.best_epoch, self.wait = value, epoch, 0
            else:
                self.wait += 1

    def on_epoch_end(self, trainer: "Trainer", logs: dict) -> None:
        value = logs[self.monitor]
        if _is_better(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best_weights:  # clone: state_dict tensors share memory with the model
                self._best_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = logs["epoch"]
            trainer.stop = True
            trainer.history.stopped_early = True

    def on_train_end(self, trainer: "Trainer") -> None:
        if self.restore_best_weights and self._best_state is not None and self.stopped_epoch is not None:
            trainer.model.load_state_dict(self._best_state)


class LRScheduler:
    """Step a ``torch.optim.lr_scheduler`` once per epoch.

    ``ReduceLROnPlateau`` is stepped with the monitored value (``val_loss`` by default).
    """

    def __init__(self, scheduler: Any, monitor: str = "val_loss"):
        self.scheduler = scheduler
        self.monitor = monitor

    def on_epoch_end(self, trainer: "Trainer", logs: dict) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs[self.monitor])
        else:
            self.scheduler.step()


class CSVLogger:
    """Append one CSV row per epoch (the columns of ``History``); read it back with ``csv`` or pandas."""

    def __init__(self, path: str | Path, append: bool = False):
        self.path = Path(path)
        self.append = append

    def on_train_begin(self, trainer: "Trainer") -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        resuming = len(trainer.history) > 0
        if not (self.append or resuming) or not self.path.exists():
            with open(self.path, "w", newline="") as fh:
                csv.writer(fh).writerow(History.KEYS)

    def on_epoch_end(self, trainer: "Trainer", logs: dict) -> None:
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([logs[key] for key in History.KEYS])


def read_csv_log(path: str | Path) -> History:
    """Read a ``CSVLogger`` file back into a ``History``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return History.from_dict({key: [(int if key == "epoch" else float)(r[key]) for r in rows]
                              for key in History.KEYS})


class TensorBoardLogger:
    """Write loss, accuracy and learning rate per epoch for TensorBoard.

    Open with ``tensorboard --logdir runs`` and browse to http://localhost:6006.
    """

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self.writer = None

    def on_train_begin(self, trainer: "Trainer") -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, trainer: "Trainer", logs: dict) -> None:
        step = logs["epoch"]
        for phase in ("train", "val"):
            self.writer.add_scalar(f"loss/{phase}", logs[f"{phase}_loss"], step)
            self.writer.add_scalar(f"accuracy/{phase}", logs[f"{phase}_acc"], step)
        self.writer.add_scalar("lr", logs["lr"], step)

    def on_train_end(self, trainer: "Trainer") -> None:
        if self.writer is not None:
            self.writer.close()


# --- the loop ----------------------------------------------------------------------------


class Trainer:
    """State shared with callbacks during ``fit`` (model, optimizer, history, stop flag)."""

    def __init__(self, model, loaders, optimizer, schedulers: list, history: History):
        self.model, self.loaders, self.optimizer, self.schedulers = model, loaders, optimizer, schedulers
        self.history = history
        self.stop = False

    def checkpoint(self) -> dict:
        train_gen = getattr(self.loaders["train"], "generator", None)
        return {
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_states": [sched.state_dict() for sched in self.schedulers],
            "epoch": self.history.epoch[-1] if len(self.history) else 0,
            "history": self.history.as_dict(),
            "torch_rng": torch.get_rng_state(),
            "loader_rng": train_gen.get_state() if train_gen is not None else None,
        }


def _call(callbacks, hook: str, *args) -> None:
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(*args)


def fit(model: nn.Module, loaders: Mapping[str, DataLoader], criterion: nn.Module,
        optimizer: torch.optim.Optimizer, epochs: int, callbacks: Iterable = (),
        device: torch.device | None = None, resume_from: str | Path | None = None,
        progress: bool = True) -> History:
    """Train for up to ``epochs`` epochs; each epoch has a train phase and a validation phase.

    Returns a ``History``. ``loaders`` needs ``"train"`` and ``"val"``; the test split is
    never looked at here (use ``evaluate`` once, at the very end).
    With ``resume_from`` a checkpoint written by ``ModelCheckpoint`` is loaded (model,
    optimizer, scheduler, history, RNG) and training continues after its epoch.
    Ctrl-C (or a stop button) ends training cleanly: the history so far is returned with
    ``interrupted=True`` and the checkpoints on disk are complete.
    """
    from tqdm.auto import tqdm

    device = device or get_device()
    model.to(device)
    was_training = model.training
    # LR schedulers step first, so a checkpoint written in the same epoch holds the stepped
    # scheduler and a resumed run continues with the right learning rate.
    callbacks = sorted(callbacks, key=lambda cb: not isinstance(cb, LRScheduler))
    schedulers = [cb.scheduler for cb in callbacks if isinstance(cb, LRScheduler)]
    history = History()
    if resume_from is not None:
        ckpt = load_checkpoint(resume_from, model, optimizer, schedulers, map_location=device)
        history = History.from_dict(ckpt.get("history", {}))
        if ckpt.get("torch_rng") is not None:
            torch.set_rng_state(ckpt["torch_rng"])
        gen = getattr(loaders["train"], "generator", None)
        if gen is not None and ckpt.get("loader_rng") is not None:
            gen.set_state(ckpt["loader_rng"])
    trainer = Trainer(model, loaders, optimizer, schedulers, history)
    first = history.epoch[-1] + 1 if len(history) else 1
    _call(callbacks, "on_train_begin", trainer)
    steps = sum(len(loaders[p]) for p in ("train", "val"))
    bar = tqdm(total=max(epochs - first + 1, 0) * steps, disable=not progress, unit="batch")
    try:
        for epoch in range(first, epochs + 1):
            start = time.perf_counter()
            lr = optimizer.param_groups[-1]["lr"]  # the head's group when lrs differ per layer
            logs: dict[str, float] = {"epoch": epoch, "lr": lr}
            for phase in ("train", "val"):
                if phase == "train":
                    model.train()
                    keep_frozen_batchnorm_in_eval(model)
                else:
                    model.eval()
                loss, acc = run_epoch(model, loaders[phase], criterion, device,
                                      optimizer if phase == "train" else None, bar)
                logs[f"{phase}_loss"], logs[f"{phase}_acc"] = loss, acc
            logs["seconds"] = time.perf_counter() - start
            history.append(logs)
            bar.set_postfix(epoch=epoch, train_acc=f"{logs['train_acc']:.3f}", val_acc=f"{logs['val_acc']:.3f}")
            _call(callbacks, "on_epoch_end", trainer, logs)
            if trainer.stop:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"\nTraining interrupted after epoch {history.epoch[-1] if len(history) else 0}; "
              "resume with fit(..., resume_from=<your last checkpoint>).")
    finally:
        bar.close()
        _call(callbacks, "on_train_end", trainer)
        model.train(was_training)
    return history
