"""``History``: the per-epoch numbers ``fit`` records.

It sits in its own small module because the checkpoint format, the callbacks and the
training loop all read it (putting it in one of them would make them import in a circle).

>>> from helpers.history import History
>>> history = fit(model, loaders, criterion, optimizer, epochs=5)
>>> history.best("val_acc", mode="max")   # (epoch, value)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping


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
