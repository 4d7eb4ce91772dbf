"""The run a ``fit`` call carries: its state, the checkpoint of it, resuming it, and Ctrl-C.

``helpers.train.fit`` is the loop (the tutorial's shape); this module is what stands behind it
so that a run can stop and go on where it was:

- ``RunState``: what ``fit`` shares with callbacks (model, optimizer, loaders, history), and the
  two ways a callback talks back: ``run.stop`` and ``run.save_to``;
- ``rng_state`` / ``set_rng_state``: every random-number state, saved in each checkpoint;
- ``resume``: a run put back from a checkpoint, so it ends exactly as an uninterrupted one;
- ``ctrl_c_waits`` and ``report_interrupt``: the stop button never leaves a checkpoint half
  written, and says in Korean how to continue.
"""
from __future__ import annotations

import random
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers.checkpoint import load_checkpoint, make_checkpoint, save_atomic
from helpers.device import mps_available
from helpers.history import History

__all__ = ["RunState", "rng_state", "set_rng_state", "resume", "call_hooks", "end_epoch", "ctrl_c_waits",
           "report_interrupt", "callback_keys"]


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


def callback_keys(callbacks: Sequence) -> list[str]:
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
        states = {key: cb.state_dict() for key, cb in zip(callback_keys(self.callbacks), self.callbacks)
                  if hasattr(cb, "state_dict")}
        return make_checkpoint(
            self.model, self.optimizer, callback_states=states,
            epoch=self.history.epoch[-1] if len(self.history) else 0,
            history=self.history.as_dict(), rng=rng_state(self.loader_generator),
            arch=self.arch, class_names=self.class_names)


def call_hooks(callbacks: Iterable, hook: str, *args: Any) -> None:
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(*args)


@contextmanager
def ctrl_c_waits() -> Iterator[None]:
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


def end_epoch(run: RunState, logs: dict) -> None:
    """Record the epoch, let every callback see it, then write the files they asked for."""
    run.history.append(logs)
    call_hooks(run.callbacks, "on_epoch_end", run, logs)
    if run.save_to:
        checkpoint = run.checkpoint()
        for path in dict.fromkeys(run.save_to):
            save_atomic(checkpoint, path)
        run.save_to.clear()


def resume(run: RunState, path: str | Path) -> None:
    """Load model, optimizer, every callback's state, history and random-number states from ``path``."""
    # On the CPU, whatever the device: the model and optimizer copy their states onto the
    # model's device themselves, and the random-number states must stay on the CPU.
    ckpt = load_checkpoint(path, run.model, run.optimizer, arch=run.arch, class_names=run.class_names,
                           map_location="cpu")
    run.history = History.from_dict(ckpt["history"])
    run.arch = run.arch if run.arch is not None else ckpt.get("arch")  # later checkpoints keep recording it
    states = ckpt["callback_states"]
    for key, cb in zip(callback_keys(run.callbacks), run.callbacks):
        if key in states and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(states[key])
    set_rng_state(ckpt["rng"], run.loader_generator)


def report_interrupt(run: RunState, epochs: int, resume_from: str | Path | None) -> None:
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
