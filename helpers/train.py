"""Training: ``fit`` with explicit train/val phases, ``evaluate`` and ``predict``.

>>> from helpers.callbacks import EarlyStopping, ModelCheckpoint
>>> from helpers.train import evaluate, fit
>>> history = fit(model, loaders, criterion, optimizer, epochs=10, arch=ARCH, callbacks=[
...     ModelCheckpoint(CHECKPOINT_DIR / "best.pth"), EarlyStopping(patience=3)])
>>> val_loss, val_acc = evaluate(model, loaders["val"])

The layers underneath, each importable on its own (every import points down):
``helpers.history`` (``History``) → ``helpers.checkpoint`` (the file format) →
``helpers.callbacks`` (``ModelCheckpoint``, ``EarlyStopping``, ...) → this module.
Each name is imported from the module that defines it (``from helpers.callbacks import
EarlyStopping``, ``from helpers.device import get_device``): one place to look a name up.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from helpers.callbacks import Callback
from helpers.data import dataset_classes
from helpers.device import as_device, device_of, get_device, run_on
from helpers.errors import CourseValueError, TrainingDiverged
from helpers.history import History
from helpers.memory import release_memory
from helpers.run import RunState, call_hooks, ctrl_c_waits, end_epoch, report_interrupt, resume

__all__ = ["fit", "evaluate", "predict", "infer", "run_phase", "seed_everything", "keep_frozen_batchnorm_in_eval"]

# --- set-up ------------------------------------------------------------------------------


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every accelerator) so a lesson gives the same numbers each run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


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


def run_phase(model: nn.Module, loader: DataLoader, criterion: nn.Module, device: torch.device,
              optimizer: torch.optim.Optimizer | None = None, progress: Any = None) -> tuple[float, float]:
    """One pass over one loader (one phase of an epoch); trains when an optimizer is given.

    Returns (mean loss, accuracy). Sets no mode: ``fit`` calls ``model.train()`` /
    ``model.eval()`` before each phase.

    >>> val_loss, val_acc = run_phase(model, loaders["val"], nn.CrossEntropyLoss(), device)
    """
    train = optimizer is not None
    device = as_device(device) or device_of(model)
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(train):
        for batch, (inputs, labels) in enumerate(loader, start=1):
            inputs, labels = inputs.to(device), labels.to(device)
            if train:
                optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            value = loss.item()  # a number, not the graph
            if not math.isfinite(value):  # before the step: a NaN step would spoil every weight
                raise TrainingDiverged(
                    f"{'학습' if train else '검증'} 단계 {batch}번째 배치에서 손실이 {value}가 되었습니다 (발산). "
                    "이대로 계속하면 가중치가 모두 nan이 됩니다.\n해결: 학습률(lr)을 10분의 1로 낮추고 모델을 "
                    "새로 만든 뒤 다시 학습하세요. 입력에 nan/inf가 없는지도 확인하세요.")
            if train:
                loss.backward()
                optimizer.step()
            total_loss += value * inputs.size(0)
            correct += outputs.argmax(1).eq(labels).sum().item()
            seen += inputs.size(0)
            if progress is not None:
                progress.update(1)
    release_memory()  # the phase's activations are freed: hand the pages back
    return total_loss / max(seen, 1), correct / max(seen, 1)


def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module | None = None,
             device: torch.device | str | None = None) -> tuple[float, float]:
    """(loss, accuracy) on ``loader`` in eval mode; the model's previous mode is restored.

    Runs on ``device`` when given (``"cuda"``, ``torch.device("cuda:0")``, ...; the model is
    moved there first, as ``fit`` does: a model just loaded from a checkpoint is on the CPU),
    else on the model's own device.

    >>> test_loss, test_acc = evaluate(model, loaders["test"])   # once, at the very end
    """
    device = run_on(model, device)
    criterion = criterion or nn.CrossEntropyLoss()
    was_training = model.training
    model.eval()
    try:
        return run_phase(model, loader, criterion, device)
    finally:
        model.train(was_training)


def infer(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None,
          channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(outputs, labels)`` of ``model`` over every batch of ``loader``, as CPU tensors:
    ``predict`` and ``helpers.features.extract_features`` both run through it.

    Eval mode (BatchNorm uses its running statistics, Dropout is off) and
    ``torch.inference_mode`` (no autograd bookkeeping); the model's mode and memory layout are
    restored afterwards. ``device`` as in ``evaluate``; ``channels_last``: NHWC convolutions
    on the CPU or CUDA (faster for a convolutional backbone).
    """
    device = run_on(model, device)  # outside inference mode: moved weights must stay trainable
    nhwc = channels_last and device.type in ("cpu", "cuda")  # measured 1.5-2x faster on CPU (benchmarks/run_all.py)
    was_training = model.training
    model.eval()
    if nhwc:
        model.to(memory_format=torch.channels_last)
    outputs, labels = [], []
    try:
        with torch.inference_mode():
            for inputs, targets in loader:
                inputs = inputs.to(device)
                if nhwc and inputs.dim() == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                outputs.append(model(inputs).cpu())
                labels.append(torch.as_tensor(targets).cpu())
    finally:
        model.train(was_training)
        if nhwc:
            model.to(memory_format=torch.contiguous_format)
        release_memory()
    if not outputs:
        raise CourseValueError("loader에 배치가 하나도 없습니다(빈 데이터셋).\n"
                               "해결: 데이터 폴더에 이미지가 있는지, Subset/random_split의 크기가 0이 아닌지 확인하세요.")
    return torch.cat(outputs), torch.cat(labels)


def predict(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(predicted class, true label, softmax probabilities) for every sample, as CPU tensors.

    ``device`` as in ``evaluate`` (the model is moved there when given).

    >>> preds, labels, probs = predict(model, loaders["test"])
    """
    logits, labels = infer(model, loader, device)
    probs = torch.softmax(logits, dim=1)
    return probs.argmax(1), labels, probs


# --- the loop ----------------------------------------------------------------------------


def fit(model: nn.Module, loaders: Mapping[str, DataLoader], criterion: nn.Module,
        optimizer: torch.optim.Optimizer, epochs: int, callbacks: Iterable = (),
        device: torch.device | str | None = None, resume_from: str | Path | None = None,
        progress: bool = True, arch: str | None = None,
        class_names: Sequence[str] | None = None) -> History:
    """Train for up to ``epochs`` epochs; each epoch has a train phase and a validation phase.

    Returns a ``History``. ``loaders`` needs ``"train"`` and ``"val"``; the test split is
    never looked at here (use ``evaluate`` once, at the very end). ``arch`` and
    ``class_names`` (default: ``loaders["train"].dataset.classes``) are written into every
    checkpoint, and checked when resuming. ``device``: ``"cuda"``, ``torch.device(...)``, ...
    (default ``get_device()``); the model is moved there.

    With ``resume_from`` a checkpoint written by ``ModelCheckpoint`` is loaded (model,
    optimizer, every callback's state, history, random-number states) and training
    continues after its epoch, ending exactly as a run without the break would.

    Ctrl-C (or Jupyter's stop button) stops training and **stops the notebook**, as in Keras
    and fastai: checkpoint files that every callback has seen are completed, a Korean line
    prints the exact ``fit(..., resume_from=...)`` call that continues from the newest one,
    and ``KeyboardInterrupt`` is raised again, so "Run All" does not go on with a
    half-trained model.

    >>> history = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=5, arch=ARCH)
    """
    device = run_on(model, as_device(device) or get_device())
    was_training = model.training
    callbacks = sorted(callbacks, key=lambda cb: getattr(cb, "order", Callback.order))
    if class_names is None and getattr(loaders["train"], "dataset", None) is not None:
        class_names = dataset_classes(loaders["train"].dataset)
    run = RunState(model, loaders, optimizer, callbacks, History(), arch, class_names)
    if resume_from is not None:
        resume(run, resume_from)
    history = run.history
    first = history.epoch[-1] + 1 if len(history) else 1
    call_hooks(callbacks, "on_train_begin", run)
    steps = sum(len(loaders[p]) for p in ("train", "val"))
    bar = tqdm(total=max(epochs - first + 1, 0) * steps, disable=not progress, unit="batch")
    try:
        for epoch in range(first, epochs + 1):
            start = time.perf_counter()
            logs: dict[str, float] = {"epoch": epoch, "lr": optimizer.param_groups[-1]["lr"]}  # the head's lr
            for phase in ("train", "val"):
                if phase == "train":
                    model.train()
                    keep_frozen_batchnorm_in_eval(model)
                else:
                    model.eval()
                try:
                    loss, acc = run_phase(model, loaders[phase], criterion, device,
                                          optimizer if phase == "train" else None, bar)
                except TrainingDiverged as error:  # name the epoch; checkpoints already written stay as they are
                    raise TrainingDiverged(f"에포크 {epoch}, {error}\n앞선 에포크에 ModelCheckpoint가 저장한 "
                                           "가장 좋은 가중치는 그대로 남아 있습니다.") from None
                logs[f"{phase}_loss"], logs[f"{phase}_acc"] = loss, acc
            logs["seconds"] = time.perf_counter() - start
            bar.set_postfix(epoch=epoch, train_acc=f"{logs['train_acc']:.3f}", val_acc=f"{logs['val_acc']:.3f}")
            with ctrl_c_waits():
                end_epoch(run, logs)
            if run.stop:
                break
    except KeyboardInterrupt:
        bar.close()
        report_interrupt(run, epochs, resume_from)
        raise  # Run All must stop here, not go on with a half-trained model
    finally:
        bar.close()
        call_hooks(callbacks, "on_train_end", run)
        model.train(was_training)
    return history
