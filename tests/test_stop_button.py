"""The stop button in a real Jupyter kernel: ``fit`` stops "Run All", saves what it can, says how to go on.

JupyterLab's "Run All" sends every cell's execute request at once; the kernel runs them in
turn and, when one ends in an error, aborts the ones still queued (``stop_on_error``). The
stop button is ``interrupt_kernel`` (SIGINT): ``KeyboardInterrupt`` in the running cell. A
``fit`` that swallowed it let the next cells run on a half-trained model. Here the course
kernel (``dl-course``, as a student starts it) runs a cell that trains, with a second cell
queued behind it; the test presses the stop button once the first epoch's checkpoint is on
disk, and checks: the training cell ended with ``KeyboardInterrupt``, the queued cell never
ran, the Korean line with the exact ``fit(..., resume_from=...)`` call was printed, and the
checkpoint it names exists and resumes.
"""
from __future__ import annotations

import queue
import time
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

ROOT = Path(__file__).resolve().parent.parent

TRAIN_CELL = """
import helpers
import time, torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from helpers.callbacks import ModelCheckpoint
from helpers.train import fit

class Slow(nn.Module):  # a few seconds per epoch: time to press the stop button mid-training
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
    def forward(self, x):
        time.sleep(0.05)
        return self.fc(x)

torch.manual_seed(0)
x = torch.randn(64, 4); y = (x[:, 0] > 0).long()
loaders = {{"train": DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True),
           "val": DataLoader(TensorDataset(x, y), batch_size=16)}}
model = Slow()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
history = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=200, progress=False,
              callbacks=[ModelCheckpoint({last!r}, save_best_only=False)])
"""

NEXT_CELL = "open({marker!r}, 'w').write('ran')"


@pytest.fixture
def kernel():
    manager = jupyter_client.KernelManager(kernel_name="dl-course")
    manager.start_kernel(cwd=str(ROOT))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _replies(client, ids, timeout):
    """``{msg_id: reply content}`` for the execute requests ``ids``, plus everything printed."""
    replies, printed, deadline = {}, [], time.monotonic() + timeout
    while len(replies) < len(ids) and time.monotonic() < deadline:
        try:
            msg = client.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        parent = msg["parent_header"].get("msg_id")
        if parent in ids:
            replies[parent] = msg["content"]
    while True:
        try:
            msg = client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            break
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(msg["content"]["ename"])
    return replies, "".join(printed)


def test_stop_button_stops_run_all_and_says_how_to_resume(kernel, tmp_path):
    manager, client = kernel
    last, marker = tmp_path / "last.pth", tmp_path / "next_cell_ran"
    first = client.execute(TRAIN_CELL.format(last=str(last)), stop_on_error=True)
    second = client.execute(NEXT_CELL.format(marker=str(marker)), stop_on_error=True)  # queued, as in Run All
    deadline = time.monotonic() + 240
    while not last.exists() and time.monotonic() < deadline:  # the first epoch is saved: mid-training now
        time.sleep(0.2)
    assert last.exists(), "the training cell never wrote its first checkpoint"
    time.sleep(1.0)
    manager.interrupt_kernel()  # the stop button

    replies, printed = _replies(client, {first, second}, timeout=120)
    assert replies[first]["status"] == "error" and replies[first]["ename"] == "KeyboardInterrupt", replies[first]
    assert replies[second]["status"] != "ok", "the next cell ran after the stop button"
    assert not marker.exists(), "the next cell ran after the stop button"
    assert "학습을 중단했습니다" in printed, printed[-2000:]
    assert f"resume_from={str(last)!r}" in printed, printed[-2000:]

    # the named checkpoint is complete and a new cell resumes from it
    reply = client.execute_interactive(
        "model = Slow(); optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "done = torch.load(%r, weights_only=True)['epoch']\n"
        "h = fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=done + 1, progress=False, "
        "resume_from=%r)\n"
        "assert h.epoch[-1] == done + 1 and len(h.epoch) == done + 1, h.epoch" % (str(last), str(last)),
        timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]
