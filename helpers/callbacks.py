"""Callbacks for ``helpers.train.fit``: the ones a Keras user knows, as small objects.

>>> from helpers.callbacks import ModelCheckpoint, EarlyStopping, LRScheduler, CSVLogger
>>> history = fit(model, loaders, criterion, optimizer, epochs=10, callbacks=[
...     ModelCheckpoint(CHECKPOINT_DIR / "best.pth"),                       # best epoch only
...     ModelCheckpoint(CHECKPOINT_DIR / "last.pth", save_best_only=False),  # for resuming
...     EarlyStopping(patience=3),
...     LRScheduler(torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)),
...     CSVLogger(output_dir("runs") / "log.csv")])
>>> history = fit(..., resume_from=CHECKPOINT_DIR / "last.pth")  # ends exactly as without the break

As in fastai, each callback is a small class with an ``order`` (lower runs first) and its own
``state_dict()`` / ``load_state_dict()``: a checkpoint saves the whole run, not just the
model, so a resumed run continues with the same best value, patience counter, best weights
and learning-rate schedule. The hooks ``fit`` calls, each with the run state ``run``
(``run.model``, ``run.history``, ...):

- ``on_train_begin(run)``          before the first epoch (after a resume has restored states)
- ``on_epoch_end(run, logs)``      after each epoch's train and validation phases; ``logs`` has
                                   ``epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds``
- ``on_train_end(run)``            at the end, also after Ctrl-C or an error

A callback talks back through ``run``, never by being known to ``fit``: ``run.stop = True``
ends training after this epoch; ``run.save_to.append(path)`` asks for the whole run to be
written to ``path`` once every callback has seen the epoch (so the file holds every
callback's state for it); ``checkpoint_file()`` tells ``fit`` which file a stopped run can be
resumed from. Ctrl-C during the epoch's end waits until its files are written. Any object
with some of these methods works as a callback; without an ``order`` it counts as
``Callback.order`` (50).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import torch

from helpers.checkpoint import read_checkpoint
from helpers.errors import CourseError
from helpers.history import History, default_mode


def _is_better(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


_default_mode = default_mode  # the one rule, in helpers.history (History.best uses it too)


class Callback:
    """Base class: every hook does nothing, the state is empty. Subclass and override."""

    order = 50

    def on_train_begin(self, run: Any) -> None: ...

    def on_epoch_end(self, run: Any, logs: dict) -> None: ...

    def on_train_end(self, run: Any) -> None: ...

    def checkpoint_file(self) -> tuple[int, Path] | None:
        """``(epoch, path)`` of the newest checkpoint this callback had written, or None."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class ModelCheckpoint(Callback):
    """Write a resumable checkpoint (model, optimizer, callbacks, epoch, history, RNG).

    ``save_best_only=True`` (default) keeps one file holding only the best epoch so far
    by ``monitor``; ``save_best_only=False`` rewrites it every epoch (``last.pth``, for
    ``fit(..., resume_from=...)``). Writes are atomic (``helpers.checkpoint.save_atomic``).
    Keras's ``ModelCheckpoint`` defaults to ``save_best_only=False``; this one to ``True``.
    """

    order = 90

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

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "saved_epochs": list(self.saved_epochs)}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.saved_epochs = list(state["saved_epochs"])

    def on_train_begin(self, run: Any) -> None:
        if not len(run.history):  # a new run (a resumed one keeps the loaded state)
            self.best, self.best_epoch, self.saved_epochs = None, None, []

    def on_epoch_end(self, run: Any, logs: dict) -> None:
        improved = _is_better(logs[self.monitor], self.best, self.mode)
        if improved:
            self.best, self.best_epoch = logs[self.monitor], logs["epoch"]
        if improved or not self.save_best_only:
            self.saved_epochs.append(logs["epoch"])
            run.save_to.append(self.path)
            if self.verbose:
                print(f"에포크 {logs['epoch']}: {self.monitor}={logs[self.monitor]:.4f}, 저장: {self.path}")

    def checkpoint_file(self) -> tuple[int, Path] | None:
        """The file and the epoch it holds, as read from the file: what is on disk, not what was planned."""
        try:
            return read_checkpoint(self.path)["epoch"], self.path
        except (CourseError, KeyError):
            return None


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``restore_best_weights=True`` (the default here) puts the best epoch's weights back when
    training stops early; a run that uses all its epochs keeps the last epoch's weights. Keras 3
    differs: its default is ``False``, and with ``True`` it restores the best weights at the end
    of training whether or not it stopped early. The stopping rule is Keras's: stop once the
    epochs without improvement reach ``patience``. The best weights are part of this callback's
    state, so they survive a resume.
    """

    order = 20

    def __init__(self, monitor: str = "val_loss", patience: int = 3, mode: str | None = None,
                 min_delta: float = 0.0, restore_best_weights: bool = True):
        self.monitor = monitor
        self.patience = patience
        self.mode = mode or _default_mode(monitor)
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self._best_state: dict | None = None
        self._restored = False

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self._best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch, self._best_state = state["stopped_epoch"], state["best_state"]
        self._restored = True

    def _snapshot(self, model: torch.nn.Module) -> None:
        if self.restore_best_weights:  # clone: state_dict tensors share memory with the model
            self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_train_begin(self, run: Any) -> None:
        if not self._restored:
            self._reset()
        elif self._best_state is not None:  # loaded from a file (on the CPU): beside the model's tensors
            current = run.model.state_dict()
            self._best_state = {k: v.to(current[k].device) if k in current else v
                                for k, v in self._best_state.items()}
        self._restored = False
        self.stopped_epoch = None

    def on_epoch_end(self, run: Any, logs: dict) -> None:
        value = logs[self.monitor]
        if _is_better(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            self._snapshot(run.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = logs["epoch"]
            run.stop = True
            run.history.stopped_early = True

    def on_train_end(self, run: Any) -> None:
        if self.restore_best_weights and self._best_state is not None and self.stopped_epoch is not None:
            run.model.load_state_dict(self._best_state)


class LRScheduler(Callback):
    """Step a ``torch.optim.lr_scheduler`` once per epoch.

    ``ReduceLROnPlateau`` is stepped with the monitored value (``val_loss`` by default).
    """

    order = 10

    def __init__(self, scheduler: Any, monitor: str = "val_loss"):
        self.scheduler = scheduler
        self.monitor = monitor

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)

    def on_epoch_end(self, run: Any, logs: dict) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs[self.monitor])
        else:
            self.scheduler.step()


class CSVLogger(Callback):
    """One CSV row per epoch (the columns of ``History``); read it back with ``read_csv_log``.

    A resumed run rewrites the file from the resumed history, so it never holds rows of
    epochs that were trained after the checkpoint and are now trained again.
    """

    order = 30

    def __init__(self, path: str | Path, append: bool = False):
        self.path = Path(path)
        self.append = append

    def on_train_begin(self, run: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        history = run.history
        if self.append and self.path.exists() and not len(history):
            return
        with open(self.path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(History.KEYS)
            for i in range(len(history)):  # resuming: the epochs the checkpoint holds
                writer.writerow([getattr(history, key)[i] for key in History.KEYS])

    def on_epoch_end(self, run: Any, logs: dict) -> None:
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([logs[key] for key in History.KEYS])


def read_csv_log(path: str | Path) -> History:
    """Read a ``CSVLogger`` file back into a ``History``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return History.from_dict({key: [(int if key == "epoch" else float)(r[key]) for r in rows]
                              for key in History.KEYS})


class TensorBoardLogger(Callback):
    """Write loss, accuracy and learning rate per epoch for TensorBoard.

    Open with ``tensorboard --logdir outputs/runs`` and browse to http://localhost:6006.
    A resumed run drops events of epochs after the checkpoint (``purge_step``).
    """

    order = 30

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self.writer = None

    def on_train_begin(self, run: Any) -> None:
        from torch.utils.tensorboard import SummaryWriter

        resumed = len(run.history)
        self.writer = SummaryWriter(log_dir=str(self.log_dir),
                                    purge_step=run.history.epoch[-1] + 1 if resumed else None)

    def on_epoch_end(self, run: Any, logs: dict) -> None:
        step = logs["epoch"]
        for phase in ("train", "val"):
            self.writer.add_scalar(f"loss/{phase}", logs[f"{phase}_loss"], step)
            self.writer.add_scalar(f"accuracy/{phase}", logs[f"{phase}_acc"], step)
        self.writer.add_scalar("lr", logs["lr"], step)

    def on_train_end(self, run: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
