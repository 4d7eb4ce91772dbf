"""What crosses from a submission to the grader's checks (``classroom.grading.answers``), without a sandbox.

The lessons' checks take models, layers, parameter groups, loaders and devices as well as plain
answers. These cross as data: rebuilt from library classes and tensors, one object reached twice
rebuilt once, big tensors sent once as blobs named by their SHA-256. What is not data (a class the
student wrote, a model with a hook, a forged class name, a blob that is not what its name says) is
refused with ``NotData``, never run. ``tests/crossing.py`` sends every lesson's real objects this way.
"""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from classroom.grading import grade
from classroom.grading.answers import BLOB_MIN, BLOBS, NotData, decode, encode
from classroom.grading.plan import pristine_lesson
from helpers.exercises import registered_ids

LESSONS = ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_a_check_cell_the_grader_finds(lesson):
    """A check cell ends with ``check(...)`` calls (plan.split_check_cell): none is left ungraded."""
    assert sorted(pristine_lesson(lesson).ids) == sorted(registered_ids(lesson))


def _crossed(value, tmp_path):
    blobs = tmp_path / BLOBS
    blobs.mkdir(exist_ok=True)
    sent = {}

    def blob(name, raw):
        sent[name] = len(raw)
        (blobs / name).write_bytes(raw)

    text = encode(value, blob)
    return decode(text, blobs=blobs), text, sent


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 300))


def test_a_model_crosses_with_its_layers_parameters_and_mode(tmp_path):
    model = _net().eval()
    model[0].weight.requires_grad_(False)
    x = torch.randn(2, 3, 8, 8)
    groups = [{"params": list(model[5].parameters()), "lr": 0.01}]
    got, text, sent = _crossed({"model": model, "layer": model[1], "groups": groups, "x": x,
                                "device": torch.device("cpu")}, tmp_path)
    twin = got["model"]
    assert type(twin) is nn.Sequential and twin.training is False
    assert got["layer"] is twin[1] and got["groups"][0]["params"][0] is twin[5].weight   # one object, reached twice
    assert isinstance(twin[5].weight, nn.Parameter) and not twin[0].weight.requires_grad and twin[5].weight.requires_grad
    with torch.no_grad():
        assert torch.equal(twin(got["x"]), model(x))
    assert torch.equal(twin[1].running_mean, model[1].running_mean) and twin[1].num_batches_tracked.dtype == torch.int64
    assert got["device"] == torch.device("cpu")
    assert sent == {hashlib.sha256(model[5].weight.detach().numpy().tobytes()).hexdigest(): 64 * 300 * 4}
    assert 64 * 300 * 4 >= BLOB_MIN and len(text) < BLOB_MIN  # the big tensor is named, not carried


def test_a_loader_crosses_in_its_order_with_its_samples(tmp_path):
    class Folder(torch.utils.data.Dataset):  # what ImageFolder has: samples (path, class)
        samples = [(f"/photos/{i}.jpg", i % 2) for i in range(10)]

        def __len__(self):
            return 10

        def __getitem__(self, i):
            return torch.full((3,), float(i)), i % 2

    loader = DataLoader(Subset(Folder(), [7, 2, 5, 0, 9]), batch_size=2)
    got, _, _ = _crossed(loader, tmp_path)
    assert isinstance(got, DataLoader) and got.batch_size == 2 and len(got) == 3
    assert [x[:, 0].tolist() for x, _ in got] == [[7.0, 2.0], [5.0, 0.0], [9.0]]
    assert got.dataset.samples == [(f"/photos/{i}.jpg", i % 2) for i in (7, 2, 5, 0, 9)]


def test_a_transform_and_a_function_that_uses_it_cross(tmp_path):
    """A lesson's own ``def`` reading a torchvision transform from the notebook's globals (lesson 06's
    ``to_model_input``): the transform crosses as a library object, the function as its source."""
    import numpy as np

    cell = tmp_path / "cell.py"  # where inspect.getsource finds the function's text, as IPython keeps a cell's
    cell.write_text("from torchvision import transforms\n"
                    "to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5] * 3, [0.25] * 3)])\n"
                    "handle = object()  # a global; the function's local of the same name must not drag it along\n"
                    "SIZE = 4\n"
                    "def to_input(image, size=SIZE):  # a default, read when the def runs\n"
                    "    handle = to_tensor(image)\n    return handle.unsqueeze(0)[..., :size]\n")
    namespace = {"__name__": "__main__"}
    exec(compile(cell.read_text(), str(cell), "exec"), namespace)
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    text = encode(namespace["to_input"])
    assert set(json.loads(text)["globals"]) == {"to_tensor", "SIZE"}
    rebuilt = decode(text, code=True)
    assert torch.equal(rebuilt(image), namespace["to_input"](image))


def test_what_is_not_data_is_refused(tmp_path):
    class Mine(nn.Module):  # the student's own class: its forward would be the student's code
        def forward(self, x):
            return x

    with pytest.raises(NotData, match="직접 정의한 모듈 클래스"):
        encode(nn.Sequential(Mine()))
    model = _net()
    handle = model[2].register_forward_hook(lambda *args: None)
    with pytest.raises(NotData, match="훅"):
        encode(model)
    handle.remove()

    text = encode(_net(), lambda name, raw: None)
    forged = [text.replace('"torch.nn.modules.container", "Sequential"', '"os", "system"'),
              text.replace('"torch.nn.modules.container", "Sequential"', '"torch.nn.modules.module", "Module.__subclasses__"'),
              text.replace('"torch.nn.modules.container", "Sequential"', '"helpers.nope", "Net"'),
              text.replace('"blob": "', '"blob": "../../etc/passwd'),
              text]  # the last: its blobs were never sent
    assert all(f != text for f in forged[:4])
    for bad in forged:
        with pytest.raises(NotData):
            decode(bad, blobs=tmp_path)


def test_the_grader_keeps_a_blob_only_under_its_true_name(tmp_path):
    events = grade.Events(["05.1"], steps=1, answers=tmp_path)
    raw = bytes(range(256)) * 300
    name = hashlib.sha256(raw).hexdigest()
    data = base64.b64encode(raw).decode()
    for line in ({"blob": name, "data": data}, {"blob": "0" * 64, "data": data}, {"blob": "../x", "data": data},
                 {"blob": name[:-1] + "0", "data": data}, {"blob": name, "data": "not base64!"}):
        events.feed((json.dumps(line) + "\n").encode())
    assert [p.name for p in (tmp_path / BLOBS).iterdir()] == [name]
    assert (tmp_path / BLOBS / name).read_bytes() == raw and events.malformed == 4
