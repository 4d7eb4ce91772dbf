"""The checkpoint format (helpers.checkpoint): what it records, safe loading, clear errors, atomic saves."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import CPU, SMALL, TinyNet
from helpers.errors import CheckpointError
from helpers.checkpoint import load_checkpoint, save_atomic, save_checkpoint
from helpers.data import make_loaders
from helpers.callbacks import EarlyStopping, LRScheduler, ModelCheckpoint
from helpers.train import fit

ROOT = Path(__file__).resolve().parent.parent


def _short(message: str) -> bool:
    """A message a student reads in one glance: a few lines, no dump of every key."""
    return len(message) < 700 and message.count("\n") <= 6


def _checkpoint_from_fit(image_tree, path, arch="tinynet"):
    torch.manual_seed(0)
    model = TinyNet()
    loaders = make_loaders(image_tree, SMALL, batch_size=4, seed=0)[0]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    callbacks = [ModelCheckpoint(path, save_best_only=False), EarlyStopping(patience=5),
                 LRScheduler(torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5))]
    fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=2, callbacks=callbacks, device=CPU,
        progress=False, arch=arch)
    return model


def test_checkpoint_records_arch_classes_version_callbacks_and_rng(image_tree, tmp_path):
    model = _checkpoint_from_fit(image_tree, tmp_path / "last.pth")
    ckpt = torch.load(tmp_path / "last.pth", weights_only=True)
    assert ckpt["format_version"] >= 2
    assert ckpt["arch"] == "tinynet"
    assert ckpt["class_names"] == ["blue", "red"]  # from loaders["train"].dataset.classes
    assert ckpt["epoch"] == 2 and ckpt["history"]["epoch"] == [1, 2]
    assert set(ckpt["callback_states"]) == {"ModelCheckpoint[0]", "EarlyStopping[0]", "LRScheduler[0]"}
    assert ckpt["callback_states"]["LRScheduler[0]"]["last_epoch"] == 2
    assert ckpt["callback_states"]["EarlyStopping[0]"]["best_epoch"] in (1, 2)
    assert {"torch", "python", "numpy", "loader"} <= set(ckpt["rng"])
    for key, value in model.state_dict().items():
        assert torch.equal(ckpt["model_state"][key], value)


def test_other_architecture_is_a_short_error_naming_file_and_both_names(image_tree, tmp_path):
    path = tmp_path / "last.pth"
    _checkpoint_from_fit(image_tree, path, arch="efficientnet_lite0")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, TinyNet(), arch="resnet18")
    message = str(info.value)
    assert str(path) in message and "resnet18" in message and "efficientnet_lite0" in message
    assert _short(message)


def test_other_class_list_is_a_short_error(image_tree, tmp_path):
    path = tmp_path / "last.pth"
    _checkpoint_from_fit(image_tree, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, TinyNet(num_classes=3), class_names=["bird", "cat", "dog"])
    message = str(info.value)
    assert str(path) in message and "bird" in message and "blue" in message
    assert _short(message)


def test_mismatched_plain_state_dict_names_the_tensor_not_every_key(tmp_path):
    class Wide(nn.Module):  # many tensors: the raw torch error would list them all
        def __init__(self, n):
            super().__init__()
            self.blocks = nn.Sequential(*[nn.Linear(4, 4) for _ in range(200)])
            self.fc = nn.Linear(4, n)

    path = tmp_path / "plain.pth"
    torch.save(Wide(3).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, Wide(2))
    assert "fc.weight" in str(info.value) and str(path) in str(info.value)
    assert _short(str(info.value))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, TinyNet())
    assert _short(str(info.value)) and "blocks.0.weight" in str(info.value)


def test_a_plain_state_dict_loads_and_a_dict_of_no_known_format_is_refused(tmp_path):
    """``torch.save(model.state_dict(), path)`` is PyTorch's own format and loads; a dict holding
    ``model_state`` without ``format_version`` is no course checkpoint: a Korean CheckpointError."""
    torch.manual_seed(1)
    source = TinyNet()
    torch.save(source.state_dict(), tmp_path / "plain.pth")
    target = TinyNet()
    load_checkpoint(tmp_path / "plain.pth", target, arch="tinynet", class_names=["a", "b"])
    assert torch.equal(target.fc.weight, source.fc.weight)
    torch.save({"model_state": source.state_dict(), "epoch": 3}, tmp_path / "unversioned.pth")
    with pytest.raises(CheckpointError, match="format_version"):
        load_checkpoint(tmp_path / "unversioned.pth", TinyNet())


def test_truncated_checkpoint_names_file_and_fix_without_unsafe_advice(image_tree, tmp_path):
    path = tmp_path / "last.pth"
    _checkpoint_from_fit(image_tree, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for content in (None, b"not a checkpoint", b""):
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path, TinyNet())
        message = str(info.value)
        assert str(path) in message and "rm" in message
        assert "weights_only=False" not in message
        assert info.value.__cause__ is None and info.value.__suppress_context__  # no torch advice below
        assert isinstance(info.value, RuntimeError)


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"model_state": {}, "payload": _RunsShell(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert not marker.exists()
    message = str(info.value)
    assert str(path) in message and "rm" in message
    assert "weights_only=False" not in message and "False" not in message  # never advise the unsafe load
    assert info.value.__cause__ is None and info.value.__suppress_context__  # torch's advice not chained


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "ckpt.pth"
    save_atomic({"a": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_atomic({"bad": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pth"]


KILLED_SAVE = textwrap.dedent("""
    import os, sys, torch
    import helpers.checkpoint as ckpt
    real_save = torch.save
    def dying_save(obj, fh, *args, **kwargs):
        fh.write(b"PK half a zip file")
        fh.flush()
        os._exit(9)          # like SIGKILL / a killed kernel: no finally, no cleanup
    ckpt.torch.save = dying_save
    ckpt.save_atomic({"a": torch.zeros(2)}, sys.argv[1])
""")


def test_save_killed_mid_write_keeps_previous_and_next_save_cleans_up(tmp_path):
    path = tmp_path / "last.pth"
    save_atomic({"a": torch.ones(2)}, path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env, cwd=ROOT)
    assert result.returncode == 9
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))  # previous intact
    assert len(list(tmp_path.iterdir())) == 2  # the killed save left its temporary file
    save_atomic({"a": torch.full((2,), 2.0)}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pth"]
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.full((2,), 2.0))


def test_next_save_removes_leftover_temp_files_of_that_checkpoint_only(tmp_path):
    (tmp_path / ".best.pth.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".other.pth.xyz.tmp").write_bytes(b"someone else's")
    save_checkpoint(tmp_path / "best.pth", TinyNet(), arch="tinynet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.pth.xyz.tmp", "best.pth"]
    assert load_checkpoint(tmp_path / "best.pth", TinyNet(), arch="tinynet")["arch"] == "tinynet"


def test_resume_checks_arch_and_keeps_recording_it(image_tree, tmp_path):
    path = tmp_path / "last.pth"
    model = _checkpoint_from_fit(image_tree, path, arch="tinynet")
    loaders = make_loaders(image_tree, SMALL, batch_size=4, seed=0)[0]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(CheckpointError, match="resnet18"):
        fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=3, device=CPU, progress=False,
            resume_from=path, arch="resnet18")
    fit(model, loaders, nn.CrossEntropyLoss(), optimizer, epochs=3, device=CPU, progress=False,
        resume_from=path, callbacks=[ModelCheckpoint(path, save_best_only=False)])  # arch not repeated
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["epoch"] == 3 and ckpt["arch"] == "tinynet"


def test_checkpoint_gets_a_normal_files_mode(tmp_path):
    """Not mkstemp's private 0600: an instructor can share a checkpoint like any other file."""
    umask = os.umask(0o022)
    try:
        path = save_atomic({"a": torch.ones(1)}, tmp_path / "shared.pth")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
