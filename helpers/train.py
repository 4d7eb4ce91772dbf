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
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers.callbacks import Callback
from helpers.checkpoint import load_checkpoint, make_checkpoint, save_atomic
from helpers.device import as_device, device_of, get_device, mps_available, run_on
from helpers.errors import CourseValueError, TrainingDiverged
from helpers.history import History
from helpers.memory import release_memory

__all__ = ["fit", "evaluate", "predict", "infer", "run_phase", "RunState", "seed_everything", "keep_frozen_batchnorm_in_eval",
           "rng_state", "set_rng_state"]

# --- set-up ------------------------------------------------------------------------------


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every accelerator) so a lesson gives the same numbers each run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def rng_state(loader_generator: torch.Generator | None = None) -> dict:
    """Every random-number state a run draws from, as tensors and numbers (``weights_only``-safe)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": torch.mps.get_rng_state() if mps_available() else None,  # dropout on a Mac's GPU
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "loader": loader_generator.get_state() if loader_generator is not None else None,
    }


def set_rng_state(state: Mapping, loader_generator: torch.Generator | None = None) -> None:
    """Put back what ``rng_state`` recorded (missing entries are left alone)."""
    if state.get("torch") is not None:
        torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    if state.get("mps") is not None and mps_available():
        torch.mps.set_rng_state(state["mps"].cpu())
    if state.get("python") is not None:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if state.get("numpy") is not None:
        n = state["numpy"]
        keys = n["keys"].cpu().numpy().astype(np.uint32)  # .cpu(): a state loaded onto a GPU is no NumPy array
        np.random.set_state(("MT19937", keys, int(n["pos"]), int(n["has_gauss"]), float(n["gauss"])))
    if loader_generator is not None and state.get("loader") is not None:
        loader_generator.set_state(state["loader"].cpu())


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


def _callback_keys(callbacks: Sequence) -> list[str]:
    """``EarlyStopping[0]``, ``ModelCheckpoint[0]``, ``ModelCheckpoint[1]``, ...: stable across runs."""
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        name = type(cb).__name__
        keys.append(f"{name}[{seen.get(name, 0)}]")
        seen[name] = seen.get(name, 0) + 1
    return keys


class RunState:
    """What ``fit`` shares with callbacks: model, optimizer, loaders, history, and the two ways a
    callback talks back: ``stop`` (end after this epoch) and ``save_to`` (write the run there).

    It holds state and trains nothing; ``checkpoint()`` is the whole run as a checkpoint dict.
    """

    def __init__(self, model: nn.Module, loaders: Mapping[str, DataLoader],
                 optimizer: torch.optim.Optimizer, callbacks: Sequence, history: History,
                 arch: str | None = None, class_names: Sequence[str] | None = None):
        self.model, self.loaders, self.optimizer = model, loaders, optimizer
        self.callbacks, self.history = list(callbacks), history
        self.arch, self.class_names = arch, class_names
        self.stop = False
        self.save_to: list[Path] = []

    @property
    def loader_generator(self) -> torch.Generator | None:
        return getattr(self.loaders["train"], "generator", None)

    def checkpoint(self) -> dict:
        states = {key: cb.state_dict() for key, cb in zip(_callback_keys(self.callbacks), self.callbacks)
                  if hasattr(cb, "state_dict")}
        return make_checkpoint(
            self.model, self.optimizer, callback_states=states,
            epoch=self.history.epoch[-1] if len(self.history) else 0,
            history=self.history.as_dict(), rng=rng_state(self.loader_generator),
            arch=self.arch, class_names=self.class_names)


def _call(callbacks: Iterable, hook: str, *args: Any) -> None:
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(*args)


@contextmanager
def _ctrl_c_waits() -> Iterator[None]:
    """Inside, Ctrl-C (Jupyter's stop button) is held until the block ends, then raised: the
    epoch's bookkeeping and checkpoint files are never left half done."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


def _end_epoch(run: RunState, logs: dict) -> None:
    """Record the epoch, let every callback see it, then write the files they asked for."""
    run.history.append(logs)
    _call(run.callbacks, "on_epoch_end", run, logs)
    if run.save_to:
        checkpoint = run.checkpoint()
        for path in dict.fromkeys(run.save_to):
            save_atomic(checkpoint, path)
        run.save_to.clear()


def _resume(run: RunState, path: str | Path) -> None:
    """Load model, optimizer, every callback's state, history and random-number states from ``path``."""
    # On the CPU, whatever the device: the model and optimizer copy their states onto the
    # model's device themselves, and the random-number states must stay on the CPU.
    ckpt = load_checkpoint(path, run.model, run.optimizer, arch=run.arch, class_names=run.class_names,
                           map_location="cpu")
    run.history = History.from_dict(ckpt["history"])
    run.arch = run.arch if run.arch is not None else ckpt.get("arch")  # later checkpoints keep recording it
    states = ckpt["callback_states"]
    for key, cb in zip(_callback_keys(run.callbacks), run.callbacks):
        if key in states and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(states[key])
    set_rng_state(ckpt["rng"], run.loader_generator)


def _interrupted(run: RunState, epochs: int, resume_from: str | Path | None) -> None:
    """Ctrl-C / the stop button: say how to continue from the newest file on disk (Korean)."""
    run.history.interrupted = True
    done = run.history.epoch[-1] if len(run.history) else 0
    files = [f for f in (getattr(cb, "checkpoint_file", lambda: None)() for cb in run.callbacks) if f is not None]
    if not files and resume_from is not None and Path(resume_from).is_file():
        files = [(-1, Path(resume_from))]  # the state this run started from
    lines = [f"\n학습을 중단했습니다(Ctrl-C 또는 중지 버튼). 끝난 에포크: {done}."]
    if files:
        epoch, path = max(files, key=lambda f: f[0])
        at = f"에포크 {epoch}의 상태" if epoch >= 0 else "이번 학습을 시작한 상태"
        lines.append(f"체크포인트 {path} 에 {at}가 저장되어 있습니다. 이어서 학습하려면 모델·옵티마이저·콜백을 "
                     "처음과 같이 만든 뒤 같은 fit 호출에 resume_from만 더하세요:")
        lines.append(f"    fit(..., epochs={epochs}, resume_from={str(path)!r})")
    else:
        lines.append("저장된 체크포인트가 없어 이어서 할 수 없습니다. 다음에는 콜백에 "
                     "ModelCheckpoint(output_dir(\"checkpoints\") / \"last.pth\", save_best_only=False) 를 넣으면 "
                     "매 에포크 저장되어, 중단해도 fit(..., resume_from=그 파일)로 이어 갈 수 있습니다.")
    print("\n".join(lines), flush=True)


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
    from tqdm.auto import tqdm

    device = run_on(model, as_device(device) or get_device())
    was_training = model.training
    callbacks = sorted(callbacks, key=lambda cb: getattr(cb, "order", Callback.order))
    if class_names is None and getattr(loaders["train"], "dataset", None) is not None:
        from helpers.data import dataset_classes  # through Subset / random_split too

        class_names = dataset_classes(loaders["train"].dataset)
    run = RunState(model, loaders, optimizer, callbacks, History(), arch, class_names)
    if resume_from is not None:
        _resume(run, resume_from)
    history = run.history
    first = history.epoch[-1] + 1 if len(history) else 1
    _call(callbacks, "on_train_begin", run)
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
            with _ctrl_c_waits():
                _end_epoch(run, logs)
            if run.stop:
                break
    except KeyboardInterrupt:
        bar.close()
        _interrupted(run, epochs, resume_from)
        raise  # Run All must stop here, not go on with a half-trained model
    finally:
        bar.close()
        _call(callbacks, "on_train_end", run)
        model.train(was_training)
    return history
