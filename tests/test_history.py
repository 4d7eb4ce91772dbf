"""``History.best`` picks the best epoch with the same mode rule as the callbacks."""
from __future__ import annotations

import pytest

from helpers.callbacks import EarlyStopping, ModelCheckpoint
from helpers.history import History, default_mode


def _history(**values) -> History:
    n = len(next(iter(values.values())))
    base = {key: [0.0] * n for key in History.KEYS}
    base["epoch"] = list(range(1, n + 1))
    return History.from_dict({**base, **values})


def test_best_val_acc_is_the_highest():
    history = _history(val_acc=[0.5, 0.9, 0.7], val_loss=[1.0, 0.6, 0.4])
    assert history.best("val_acc") == (2, 0.9)      # was the worst epoch (mode defaulted to "min")
    assert history.best("val_loss") == (3, 0.4)
    assert history.best() == (3, 0.4)
    assert history.best("val_acc", mode="min") == (1, 0.5)  # an explicit mode still wins


@pytest.mark.parametrize("monitor", ["val_acc", "train_acc", "val_loss", "train_loss", "lr", "val_auc", "accuracy"])
def test_one_rule_for_history_and_callbacks(monitor, tmp_path):
    assert ModelCheckpoint(tmp_path / "x.pth", monitor=monitor).mode == default_mode(monitor)
    assert EarlyStopping(monitor=monitor).mode == default_mode(monitor)
    expected = "max" if monitor.endswith(("acc", "auc", "accuracy")) else "min"
    assert default_mode(monitor) == expected


def test_callbacks_use_the_history_rule_object():
    import helpers.callbacks as callbacks

    assert callbacks._default_mode is default_mode


def test_best_of_an_unknown_name_or_an_empty_history_is_korean():
    from helpers.errors import CourseError

    with pytest.raises(CourseError, match="val_acc"):
        _history(val_acc=[0.5]).best("acc")
    with pytest.raises(CourseError, match="fit"):
        History().best("val_acc")
