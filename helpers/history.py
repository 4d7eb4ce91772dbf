"""``History``: the per-epoch numbers ``fit`` records.

It sits in its own small module because the checkpoint format, the callbacks and the
training loop all read it (putting it in one of them would make them import in a circle).

>>> from helpers.history import History
>>> history = fit(model, loaders, criterion, optimizer, epochs=5)
>>> history.best("val_acc")   # (epoch, value); "max" for accuracies, "min" for losses
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from helpers.errors import CourseKeyError, CourseValueError


HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "f1", "precision", "recall", "sensitivity",
                    "specificity", "iou", "dice", "top1", "top5")


def default_mode(monitor: str) -> str:
    """``"max"`` when a larger ``monitor`` is better (``val_acc``, ``val_auc``, ...), else ``"min"``
    (losses, errors). The one rule: ``History.best``, ``ModelCheckpoint`` and ``EarlyStopping``
    all use it when no ``mode`` is given."""
    name = monitor.lower()
    return "max" if any(name == s or name.endswith(("_" + s, s)) for s in HIGHER_IS_BETTER) else "min"


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

    def best(self, monitor: str = "val_loss", mode: str | None = None) -> tuple[int, float]:
        """(epoch, value) of the best epoch for ``monitor``; ``mode`` ("min"/"max") defaults to
        ``default_mode(monitor)``: the highest ``val_acc``, the lowest ``val_loss``."""
        if monitor not in self.KEYS or monitor in ("epoch", "seconds"):
            raise CourseKeyError(
                f"History.best({monitor!r}): 기록에 없는 값입니다. 쓸 수 있는 것: train_loss, train_acc, "
                "val_loss, val_acc, lr.\n해결: 예) history.best(\"val_acc\")")
        if not self.epoch:
            raise CourseValueError(
                "History.best: 아직 기록된 에포크가 없습니다.\n해결: fit(...)으로 한 에포크 이상 학습한 뒤 부르세요.")
        values = getattr(self, monitor)
        mode = mode or default_mode(monitor)
        if mode not in ("min", "max"):
            raise CourseValueError(
                f"mode는 \"min\" 또는 \"max\"만 됩니다 (받은 값: {mode!r}).\n해결: 손실은 \"min\", 정확도는 \"max\".")
        pick = min if mode == "min" else max
        i = values.index(pick(values))
        return self.epoch[i], values[i]
