"""Answers as data: the only form in which an answer leaves the student's process (JSON, never a pickle).

``encode`` (in the student's process, by the runner) turns an answer into JSON text; ``decode`` (in
the checker's sandbox) builds it again. What crosses, with a tag for what JSON lacks:

- ``None``, bools, numbers (NaN and inf stay what they are), strings; lists, tuples, sets, dicts;
- tensors and NumPy arrays of plain numeric dtypes, as raw bytes (no object arrays);
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
import importlib
import inspect
import json
import math
import numbers
import textwrap
import types

MAX_DEPTH = 40
MAX_ITEMS = 200_000
MAX_BYTES = 32 << 20
TENSOR_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "bool", "complex64", "complex128"}
ARRAY_KINDS = set("biufc")
CODE_TAGS = {"__function__", "__module__", "__ref__"}


class NotData(ValueError):
    """The answer cannot cross as data (the message, in Korean, says what it was)."""


class NeedsCode(Exception):
    """Raised by ``decode(..., code=False)``: the answer holds code (a function, a module, a class)."""


def encode(value) -> str:
    """JSON text for ``value`` (``NotData`` if it is not an answer the checker can rebuild)."""
    state = {"items": 0, "functions": {}, "globals": {}}
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
    if kind in ("torch.Tensor", "torch.nn.parameter.Parameter"):
        import torch
        dtype = str(x.dtype).removeprefix("torch.")
        if dtype not in TENSOR_DTYPES:
            raise NotData(f"이 텐서 dtype({dtype})은 옮길 수 없습니다")
        flat = x.detach().cpu().contiguous().reshape(-1)
        return {"__tensor__": {"dtype": dtype, "shape": list(x.shape), "grad": bool(x.requires_grad),
                               "data": _raw(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")}}
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
    for used in sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} & fn.__globals__.keys()):
        if used not in state["globals"] and used != name:
            state["globals"][used] = None  # a placeholder first: recursion between functions ends
            state["globals"][used] = _to(fn.__globals__[used], depth + 1, state)
    return name


def decode(text: str, code: bool = False):
    """The answer ``encode`` wrote. ``code=False``: data only (``NeedsCode`` if it holds code)."""
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
        for name, value in record["globals"].items():
            namespace[str(name)] = _from(value, 0, code, namespace)
        for name, source in record["functions"].items():
            exec(compile(str(source), f"<학생 함수 {name}>", "exec"), namespace)  # noqa: S102 - the code route
    return _from(record["value"], 0, code, namespace)


def _from(x, depth: int, code: bool, namespace: dict):
    if depth > MAX_DEPTH:
        raise NotData("답이 너무 깊게 중첩되어 있습니다")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        return [_from(v, depth + 1, code, namespace) for v in x]
    if not isinstance(x, dict) or len(x) != 1:
        raise NotData("답의 형식이 잘못되었습니다")
    (tag, body), = x.items()
    if tag in CODE_TAGS and not code:
        raise NeedsCode()
    if tag == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(_from(v, depth + 1, code, namespace) for v in body)
    if tag == "__set__" and isinstance(body, list):
        return set(_from(v, depth + 1, code, namespace) for v in body)
    if tag == "__dict__" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
        return {_from(k, depth + 1, code, namespace): _from(v, depth + 1, code, namespace) for k, v in body}
    if tag == "__tensor__" and isinstance(body, dict) and body.get("dtype") in TENSOR_DTYPES:
        import torch
        dtype = getattr(torch, body["dtype"])
        raw = bytearray(base64.b64decode(body["data"], validate=True))
        shape = [int(n) for n in body["shape"]]
        tensor = (torch.frombuffer(raw, dtype=torch.uint8).view(dtype) if raw else torch.empty(0, dtype=dtype))
        tensor = tensor.reshape(shape)
        return tensor.requires_grad_(True) if body.get("grad") is True and tensor.is_floating_point() else tensor
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
