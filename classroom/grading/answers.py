"""Answers as data: the only form in which an answer leaves the student's process (JSON, never a pickle).

``encode`` (in the student's process, by the runner) turns an answer into JSON text; ``decode`` (in
the checker's sandbox) builds it again. What crosses, with a tag for what JSON lacks:

- ``None``, bools, numbers (NaN and inf stay what they are), strings; lists, tuples, sets, dicts;
- tensors and NumPy arrays of plain numeric dtypes, as raw bytes (no object arrays); a tensor of
  ``BLOB_MIN`` bytes or more travels once per submission, as a blob named by its SHA-256 (the
  grader checks the name against the bytes), so a model passed to five checks is sent once;
- models (``nn.Module``) built only from library classes (``torch.nn``, torchvision, timm, the
  course's ``helpers``): the class by name, its plain attributes as data, its parameters, buffers
  and submodules; rebuilt with ``cls.__new__`` and ``nn.Module.__init__``, so no constructor and no
  code of the student runs. A model with hooks still attached is refused (a hook is code);
- other objects of those packages' classes (a torchvision transform), the same way: class by
  name, attributes as data, made with ``__new__``;
- data loaders, as the batches one pass gives (inputs and targets), the batch size and, where the
  dataset has them (``ImageFolder``, through ``Subset``), the ``samples`` (path, class) of that order;
- a ``torch.device``, which becomes the CPU: the checker has no GPU, and every tensor crosses to the CPU;
- one object reached twice (a model and its layer, a parameter in a model and in a param group) is
  rebuilt once and reached twice;
- functions written with ``def`` at a cell's top level: their *source text*, plus the globals they
  use (modules and library functions or classes by name, the rest as data, other such functions
  as source). Only ``decode(..., code=True)`` runs that source, and only the checker's per-exercise
  child process calls it: the checker's parent and the grader never run anything a student wrote.

Anything else (an object with ``__reduce__``, a model, a generator, a closure, a lambda) is refused
with ``NotData`` naming what it was; sizes and nesting are bounded both ways.
"""
from __future__ import annotations

import ast
import base64
import builtins
import dis
import functools
import hashlib
import importlib
import inspect
import json
import math
import numbers
import re
import sys
import textwrap
import types
from pathlib import Path

MAX_DEPTH = 40
MAX_ITEMS = 200_000
MAX_BYTES = 32 << 20
TENSOR_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "bool", "complex64", "complex128"}
ARRAY_KINDS = set("biufc")
CODE_TAGS = {"__function__", "__module__", "__ref__"}
BLOB_MIN = 64 << 10
BLOB_NAME = re.compile(r"[0-9a-f]{64}")
BLOBS = "blobs"   # the sub-folder of a submission's answers that holds its blobs
MODEL_PACKAGES = ("torch.nn.", "torchvision.", "timm.", "helpers.")   # whose nn.Module classes may be rebuilt


class NotData(ValueError):
    """The answer cannot cross as data (the message, in Korean, says what it was)."""


class NeedsCode(Exception):
    """Raised by ``decode(..., code=False)``: the answer holds code (a function, a module, a class)."""


def encode(value, blob=None) -> str:
    """JSON text for ``value`` (``NotData`` if it is not an answer the checker can rebuild).
    ``blob(name, raw)``, if given, receives each tensor of ``BLOB_MIN`` bytes or more; the text
    then names it instead of holding it."""
    state = {"items": 0, "functions": {}, "globals": {}, "memo": {}, "keep": [], "blob": blob}
    body = _to(value, 0, state)
    text = json.dumps({"value": body, "functions": state["functions"], "globals": state["globals"]},
                      ensure_ascii=False)
    if len(text) > MAX_BYTES:
        raise NotData(f"답이 너무 큽니다 ({len(text) >> 20} MB)")
    return text


def _raw(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _to(x, depth: int, state: dict):
    state["items"] += 1
    if depth > MAX_DEPTH or state["items"] > MAX_ITEMS:
        raise NotData("답이 너무 크거나 너무 깊게 중첩되어 있습니다")
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, numbers.Integral) and not hasattr(x, "shape"):
        return int(x)
    if isinstance(x, numbers.Real) and not hasattr(x, "shape"):
        x = float(x)
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if type(x).__module__ == "numpy" and hasattr(x, "item") and getattr(x, "shape", None) == ():
        return _to(x.item(), depth + 1, state)
    if isinstance(x, list):
        return [_to(v, depth + 1, state) for v in x]
    if isinstance(x, tuple) and type(x) is tuple:
        return {"__tuple__": [_to(v, depth + 1, state) for v in x]}
    if isinstance(x, (set, frozenset)):
        return {"__set__": [_to(v, depth + 1, state) for v in x]}
    if type(x) is dict:
        return {"__dict__": [[_to(k, depth + 1, state), _to(v, depth + 1, state)] for k, v in x.items()]}
    kind = f"{type(x).__module__}.{type(x).__qualname__}"
    torch = sys.modules.get("torch")
    is_tensor = torch is not None and isinstance(x, torch.Tensor)  # subclasses too: only the data crosses
    is_module = torch is not None and isinstance(x, torch.nn.Module)
    is_library = type(x).__module__.startswith(MODEL_PACKAGES) and hasattr(x, "__dict__") \
        and not isinstance(x, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType))
    if is_tensor or is_module or is_library:
        if id(x) in state["memo"]:  # reached before: the same object again
            return {"__same__": state["memo"][id(x)]}
        index = state["memo"][id(x)] = len(state["memo"])
        state["keep"].append(x)  # ids stay unique while encoding
        body = _tensor(x, state) if is_tensor else _model(x, depth, state) if is_module else \
            {"__lib__": {"class": [type(x).__module__, type(x).__qualname__], "attrs": _to(vars(x), depth + 1, state)}}
        return {"__obj__": [index, body]}
    if torch is not None and isinstance(x, torch.utils.data.DataLoader):
        return _loader(x, depth, state)
    if torch is not None and isinstance(x, torch.device):
        return {"__device__": x.type}
    if kind == "numpy.ndarray":
        if x.dtype.kind not in ARRAY_KINDS:
            raise NotData(f"이 배열 dtype({x.dtype})은 옮길 수 없습니다")
        return {"__ndarray__": {"dtype": x.dtype.str, "shape": list(x.shape), "data": _raw(x.tobytes())}}
    if isinstance(x, types.ModuleType):
        return {"__module__": x.__name__}
    if isinstance(x, types.FunctionType) and x.__module__ in ("__main__", None):
        return {"__function__": _function(x, depth, state)}
    if callable(x) and isinstance(getattr(x, "__module__", None), str) and x.__module__ != "__main__" \
            and isinstance(getattr(x, "__qualname__", None), str) and "<" not in x.__qualname__:
        return {"__ref__": [x.__module__, x.__qualname__]}  # a library function or class, by name
    raise NotData(f"{type(x).__name__} 형식의 답은 데이터로 옮길 수 없습니다 "
                  "(숫자·문자열·리스트·딕셔너리·텐서·배열, 또는 def로 만든 함수만 채점할 수 있습니다)")


def _tensor(x, state: dict) -> dict:
    import torch
    dtype = str(x.dtype).removeprefix("torch.")
    if dtype not in TENSOR_DTYPES:
        raise NotData(f"이 텐서 dtype({dtype})은 옮길 수 없습니다")
    flat = x.detach().cpu().contiguous().reshape(-1)
    raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
    body = {"dtype": dtype, "shape": list(x.shape), "grad": bool(x.requires_grad),
            "param": isinstance(x, torch.nn.Parameter)}
    if state["blob"] is not None and len(raw) >= BLOB_MIN:
        name = hashlib.sha256(raw).hexdigest()
        state["blob"](name, raw)
        return {"__tensor__": {**body, "blob": name}}
    return {"__tensor__": {**body, "data": _raw(raw)}}


@functools.cache
def _module_state() -> frozenset[str]:
    """The attributes every ``nn.Module`` has (hooks, tensors, submodules, ``training``)."""
    import torch
    return frozenset(vars(torch.nn.Module()))


def _model(module, depth: int, state: dict) -> dict:
    import torch
    cls = type(module)
    if not cls.__module__.startswith(MODEL_PACKAGES) or "<" in cls.__qualname__:
        raise NotData(f"직접 정의한 모듈 클래스({cls.__qualname__})가 든 모델은 옮길 수 없습니다: "
                      "torch.nn, torchvision, timm의 층으로 만든 모델(nn.Sequential 등)만 채점할 수 있습니다")
    base = _module_state()
    hooks = sum(len(v) for k, v in vars(module).items() if k.endswith("hooks") and isinstance(v, dict))
    if hooks:
        raise NotData(f"모델의 {cls.__name__} 층에 훅(hook)이 {hooks}개 남아 있습니다: handle.remove()로 지운 뒤 "
                      "Kernel → Restart Kernel and Run All Cells로 다시 실행하고 저장하세요")
    attrs = {k: v for k, v in vars(module).items() if k not in base}
    return {"__nn__": {
        "class": [cls.__module__, cls.__qualname__], "training": bool(module.training),
        "attrs": _to(attrs, depth + 1, state),
        "params": _to(dict(module._parameters), depth + 1, state),
        "buffers": _to(dict(module._buffers), depth + 1, state),
        "volatile": sorted(module._non_persistent_buffers_set),
        "children": _to(dict(module._modules), depth + 1, state)}}


def _loader(loader, depth: int, state: dict) -> dict:
    import torch
    if not isinstance(loader.batch_size, int):
        raise NotData("batch_sampler를 직접 준 DataLoader는 옮길 수 없습니다: batch_size로 만든 로더를 넣으세요")
    inputs, targets = [], []
    for batch in loader:
        if not (isinstance(batch, (list, tuple)) and len(batch) == 2
                and all(isinstance(t, torch.Tensor) for t in batch)):
            raise NotData("DataLoader는 (입력, 정답) 텐서 쌍을 주는 것만 옮길 수 있습니다")
        inputs.append(batch[0])
        targets.append(batch[1])
    if not inputs:
        raise NotData("빈 DataLoader는 옮길 수 없습니다")
    return {"__loader__": {"inputs": _to(torch.cat(inputs), depth + 1, state),
                           "targets": _to(torch.cat(targets), depth + 1, state),
                           "batch_size": loader.batch_size,
                           "samples": _to(_samples(loader.dataset), depth + 1, state)}}


def _samples(dataset) -> list | None:
    """``(path, class)`` of each item in ``dataset``'s order, through ``Subset``s; None if unknown."""
    import torch
    if isinstance(dataset, torch.utils.data.Subset):
        inner = _samples(dataset.dataset)
        return None if inner is None else [inner[int(i)] for i in dataset.indices]
    samples = getattr(dataset, "samples", None)
    if isinstance(samples, list) and all(isinstance(s, tuple) and len(s) == 2 for s in samples):
        return [(str(path), int(target)) for path, target in samples]
    return None


def _globals_read(code) -> set[str]:
    """The global names ``code`` and the functions defined in it read (not their local variables)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _globals_read(const)
    return names


def _function(fn, depth: int, state: dict) -> str:
    name = fn.__name__
    if name == "<lambda>":
        raise NotData("lambda 대신 셀 맨 바깥에서 def로 정의한 함수를 넣으세요")
    if fn.__closure__:
        raise NotData(f"함수 {name}은(는) 다른 함수 안에서 만들어져 옮길 수 없습니다: 셀 맨 바깥에서 def로 정의하세요")
    if name in state["functions"]:
        return name
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        raise NotData(f"함수 {name}의 소스 코드를 찾지 못했습니다") from None
    state["functions"][name] = source
    header = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))][:1]
    at_def = {n.id for d in header for part in (d.args.defaults, d.args.kw_defaults, d.decorator_list,
                                                [a.annotation for a in d.args.args + d.args.kwonlyargs], [d.returns])
              for e in part if e is not None for n in ast.walk(e) if isinstance(n, ast.Name)}
    for used in sorted((_globals_read(fn.__code__) | at_def) & fn.__globals__.keys()):
        if used not in state["globals"] and used != name:
            state["globals"][used] = None  # a placeholder first: recursion between functions ends
            state["globals"][used] = _to(fn.__globals__[used], depth + 1, state)
    return name


class _Table(dict):
    """While decoding: the objects rebuilt so far (``__obj__`` / ``__same__``) and the blob folder."""

    def __init__(self, blobs: Path | None):
        super().__init__()
        self.blobs = blobs


def decode(text: str, code: bool = False, blobs: Path | None = None):
    """The answer ``encode`` wrote. ``code=False``: data only (``NeedsCode`` if it holds code);
    ``blobs``: the folder of the tensors sent as blobs (file name = SHA-256 of the bytes). Whatever
    is wrong with ``text`` (it is the student's), the error is ``NotData`` (or ``NeedsCode``); on
    the code route the student's own code may raise anything."""
    if code:
        return _decode(text, code, blobs)
    try:
        return _decode(text, code, blobs)
    except (NotData, NeedsCode):
        raise
    except (ArithmeticError, AttributeError, ImportError, LookupError, OSError, RecursionError, RuntimeError,
            TypeError, ValueError) as error:
        raise NotData(f"답의 형식이 잘못되었습니다 ({type(error).__name__})") from None


def _decode(text: str, code: bool, blobs: Path | None):
    if len(text) > MAX_BYTES:
        raise NotData("답이 너무 큽니다")
    record = json.loads(text)
    if not isinstance(record, dict) or set(record) != {"value", "functions", "globals"} \
            or not isinstance(record["functions"], dict) or not isinstance(record["globals"], dict):
        raise NotData("답의 형식이 잘못되었습니다")
    namespace: dict = {}
    if record["functions"] or record["globals"]:
        if not code:
            raise NeedsCode()
        namespace = {"__builtins__": builtins, "__name__": "__main__"}
    table = _Table(blobs)
    for name, value in record["globals"].items():
        namespace[str(name)] = _from(value, 0, code, namespace, table)
    for name, source in record["functions"].items():
        exec(compile(str(source), f"<학생 함수 {name}>", "exec"), namespace)  # noqa: S102 - the code route
    return _from(record["value"], 0, code, namespace, table)


def _from(x, depth: int, code: bool, namespace: dict, table: _Table):
    if depth > MAX_DEPTH:
        raise NotData("답이 너무 깊게 중첩되어 있습니다")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        return [_from(v, depth + 1, code, namespace, table) for v in x]
    if not isinstance(x, dict) or len(x) != 1:
        raise NotData("답의 형식이 잘못되었습니다")
    (tag, body), = x.items()
    if tag in CODE_TAGS and not code:
        raise NeedsCode()
    if tag == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(_from(v, depth + 1, code, namespace, table) for v in body)
    if tag == "__set__" and isinstance(body, list):
        return set(_from(v, depth + 1, code, namespace, table) for v in body)
    if tag == "__dict__" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
        return {_from(k, depth + 1, code, namespace, table): _from(v, depth + 1, code, namespace, table) for k, v in body}
    if tag == "__same__" and type(body) is int and body in table:
        return table[body]
    if tag == "__obj__" and isinstance(body, list) and len(body) == 2 and type(body[0]) is int \
            and body[0] not in table and isinstance(body[1], dict) and len(body[1]) == 1:
        (inner, content), = body[1].items()
        if inner == "__tensor__":
            table[body[0]] = _tensor_from(content, table.blobs)
        elif inner == "__nn__":
            table[body[0]] = _model_from(content, depth, code, namespace, table)
        elif inner == "__lib__":
            table[body[0]] = _object_from(content, depth, code, namespace, table)
        else:
            raise NotData("답의 형식이 잘못되었습니다")
        return table[body[0]]
    if tag == "__device__" and isinstance(body, str):
        import torch
        return torch.device("cpu")  # the checker has no GPU; every tensor crossed to the CPU
    if tag == "__loader__" and isinstance(body, dict):
        return _loader_from(body, depth, code, namespace, table)
    if tag == "__ndarray__" and isinstance(body, dict):
        import numpy as np
        dtype = np.dtype(str(body["dtype"]))
        if dtype.kind not in ARRAY_KINDS:
            raise NotData("배열 dtype이 잘못되었습니다")
        return np.frombuffer(base64.b64decode(body["data"], validate=True), dtype=dtype).reshape(
            [int(n) for n in body["shape"]]).copy()
    if tag == "__function__" and isinstance(body, str) and callable(namespace.get(body)):
        return namespace[body]
    if tag == "__module__" and isinstance(body, str):
        return importlib.import_module(body)
    if tag == "__ref__" and isinstance(body, list) and len(body) == 2:
        value = importlib.import_module(str(body[0]))
        for part in str(body[1]).split("."):
            value = getattr(value, part)
        return value
    raise NotData("답의 형식이 잘못되었습니다")


def _tensor_from(body, blobs: Path | None):
    import torch
    if not isinstance(body, dict) or body.get("dtype") not in TENSOR_DTYPES or not isinstance(body.get("shape"), list):
        raise NotData("답의 형식이 잘못되었습니다")
    dtype = getattr(torch, body["dtype"])
    shape = [int(n) for n in body["shape"]]
    if "blob" in body:
        if blobs is None or not isinstance(body["blob"], str) or not BLOB_NAME.fullmatch(body["blob"]):
            raise NotData("답의 형식이 잘못되었습니다")
        raw = bytearray((blobs / body["blob"]).read_bytes())
    else:
        raw = bytearray(base64.b64decode(body["data"], validate=True))
    tensor = (torch.frombuffer(raw, dtype=torch.uint8).view(dtype) if raw else torch.empty(0, dtype=dtype))
    tensor = tensor.reshape(shape)
    grad = body.get("grad") is True and tensor.is_floating_point()
    if body.get("param") is True:
        return torch.nn.Parameter(tensor, requires_grad=grad)
    return tensor.requires_grad_(True) if grad else tensor


def _model_from(body, depth: int, code: bool, namespace: dict, table: _Table):
    """The model ``_model`` described: its class (from ``MODEL_PACKAGES`` only) made with
    ``__new__`` and ``nn.Module.__init__``, then its attributes, tensors and submodules put back."""
    import torch
    keys = {"class", "training", "attrs", "params", "buffers", "volatile", "children"}
    if not isinstance(body, dict) or set(body) != keys or not isinstance(body["volatile"], list):
        raise NotData("답의 형식이 잘못되었습니다")
    cls = _library_class(body["class"])
    if not issubclass(cls, torch.nn.Module):
        raise NotData("답의 모델에 허용되지 않은 클래스가 있습니다")

    def named(value, kind, identifiers=False):  # submodules of nn.Sequential are named "0", "1", ...
        value = _from(value, depth + 1, code, namespace, table)
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and k and "." not in k and not k.startswith("__")
                and (k.isidentifier() or not identifiers) and (v is None or isinstance(v, kind))
                for k, v in value.items()):
            raise NotData("답의 모델 형식이 잘못되었습니다")
        return value

    params, buffers = named(body["params"], torch.nn.Parameter), named(body["buffers"], torch.Tensor)
    children, attrs = named(body["children"], torch.nn.Module), named(body["attrs"], object, identifiers=True)
    module = cls.__new__(cls)
    torch.nn.Module.__init__(module)
    if set(attrs) & set(vars(module)):
        raise NotData("답의 모델 형식이 잘못되었습니다")
    for name, value in attrs.items():
        object.__setattr__(module, name, value)
    module.training = body["training"] is True
    module._parameters.update(params)
    module._buffers.update(buffers)
    module._non_persistent_buffers_set.update(n for n in body["volatile"] if n in buffers)
    module._modules.update(children)
    return module


def _library_class(name) -> type:
    """The class ``[module, qualname]`` names, if it is one of ``MODEL_PACKAGES``' (else ``NotData``)."""
    if not (isinstance(name, list) and len(name) == 2 and all(isinstance(p, str) for p in name)):
        raise NotData("답의 형식이 잘못되었습니다")
    module_name, qualname = name
    if not module_name.startswith(MODEL_PACKAGES) or not all(p.isidentifier() for p in qualname.split(".")):
        raise NotData("답에 허용되지 않은 클래스가 있습니다")
    cls = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not isinstance(cls, type) or issubclass(cls, BaseException):
        raise NotData("답에 허용되지 않은 클래스가 있습니다")
    return cls


def _object_from(body, depth: int, code: bool, namespace: dict, table: _Table):
    """A library object that is not a model (a torchvision transform, say): made with ``__new__``,
    its attributes put back; no constructor runs."""
    if not isinstance(body, dict) or set(body) != {"class", "attrs"}:
        raise NotData("답의 형식이 잘못되었습니다")
    cls = _library_class(body["class"])
    attrs = _from(body["attrs"], depth + 1, code, namespace, table)
    if not isinstance(attrs, dict) or not all(isinstance(k, str) and k.isidentifier() and not k.startswith("__")
                                              for k in attrs):
        raise NotData("답의 형식이 잘못되었습니다")
    value = cls.__new__(cls)
    for name, item in attrs.items():
        object.__setattr__(value, name, item)
    return value


class CrossedDataset:
    """A loader's items as they crossed: ``(input, target)`` pairs, and ``samples`` where known."""

    def __init__(self, inputs, targets, samples):
        self.inputs, self.targets, self.samples = inputs, targets, samples

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index):
        return self.inputs[index], self.targets[index]


def _loader_from(body, depth: int, code: bool, namespace: dict, table: _Table):
    """A ``DataLoader`` over the crossed items, in their order, with the original batch size."""
    import torch
    if set(body) != {"inputs", "targets", "batch_size", "samples"} or type(body["batch_size"]) is not int \
            or body["batch_size"] < 1:
        raise NotData("답의 형식이 잘못되었습니다")
    inputs, targets = (_from(body[k], depth + 1, code, namespace, table) for k in ("inputs", "targets"))
    samples = _from(body["samples"], depth + 1, code, namespace, table)
    if not (isinstance(inputs, torch.Tensor) and isinstance(targets, torch.Tensor) and len(inputs) == len(targets)):
        raise NotData("답의 형식이 잘못되었습니다")
    if samples is not None and not (isinstance(samples, list) and len(samples) == len(inputs) and all(
            isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) and type(s[1]) is int for s in samples)):
        raise NotData("답의 형식이 잘못되었습니다")
    return torch.utils.data.DataLoader(CrossedDataset(inputs, targets, samples), batch_size=body["batch_size"])
