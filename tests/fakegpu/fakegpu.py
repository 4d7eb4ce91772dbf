"""A stand-in accelerator on the CPU: every lesson runs the GPU student's path on this laptop.

CI has no GPU, yet a third of a class runs the lessons on one (Colab, gaming laptops), where a
tensor left on the CPU stops the lesson with "Expected all tensors to be on the same device"
and ``.numpy()`` on a GPU tensor fails. This module registers a second device, ``fakegpu``,
through PyTorch's own extension point for out-of-tree accelerators (the ``PrivateUse1``
backend). It behaves like a GPU in the ways that break lessons:

- ``torch.accelerator.current_accelerator()`` reports it, so ``helpers.get_device()`` picks
  it exactly as it picks ``cuda`` on an NVIDIA machine: the lessons run unchanged;
- tensors on it say ``device(type='fakegpu', index=0)``; ``.to(device)``, ``device=device``
  factories, ``.cpu()``, ``.item()``, ``.tolist()``, autograd, optimisers, ``state_dict`` /
  ``load_state_dict``, ``torch.save`` / ``torch.load(..., weights_only=True)`` work as on CUDA:
  ``torch.load(..., map_location=device, weights_only=True)`` (a device, a string, a dict) gives *device* tensors, and
  a file saved from device tensors loads back onto the device unless ``map_location="cpu"``;
- an operation that mixes a device tensor with a CPU tensor (other than a 0-dimensional
  scalar, which CUDA accepts too) raises CUDA's error, "Expected all tensors to be on the
  same device, but found at least two devices"; ``.numpy()`` on a device tensor raises.

Each device tensor wraps an ordinary CPU tensor (``_inner``) that holds the numbers; every
ATen operation on device tensors reaches ``__torch_dispatch__`` (below autograd), which checks
the devices, runs the operation on the wrapped tensors and wraps the results. Views stay
views (the wrapped tensor is a view of the same storage) and in-place operations return their
own argument, so aliasing behaves as on a real device.

Used as ``PYTHONPATH=tests/fakegpu`` (see ``sitecustomize.py`` there), which installs it in
every Python process started that way (a notebook kernel under nbclient). When
``COURSE_FAKEGPU_LOG`` names a file, the process appends one JSON line at exit: how many
operations ran on the device, and which. ``tests/test_fakegpu.py`` tests the emulator itself
(it must catch the mix-ups a real GPU catches) and runs every lesson on it.

Not emulated: speed, memory limits, CUDA-only APIs (``torch.cuda.*``), non-determinism.
Audited differences that remain (none of them reaches a lesson): ``untyped_storage()`` of a
device tensor reports the CPU (CUDA: the GPU); tensors that shared one storage in a file saved
from the device come back as separate copies; ``pin_memory`` is a no-op.
"""
from __future__ import annotations

import atexit
import collections
import functools
import json
import os

import numpy as np
import torch
from torch.utils._pytree import tree_flatten, tree_map

NAME = "fakegpu"
DEVICE = torch.device("privateuseone", 0)  # named fakegpu:0 once install() has run
aten = torch.ops.aten

# Operations a CUDA kernel accepts with CPU tensors of any size among the arguments: copies
# between devices, and indexing a device tensor with CPU index tensors.
MIXED_OK = {
    aten.copy_.default, aten._to_copy.default, aten._copy_from.default,
    aten._copy_from_and_resize.default,
    aten.index.Tensor, aten.index_put_.default, aten.index_put.default,
    aten._index_put_impl_.default, aten.to.other,
}
INDEXING = {aten.index.Tensor, aten.index_put_.default, aten.index_put.default, aten._index_put_impl_.default}
"""Of those, the ones that take index tensors: CUDA lets a device tensor be indexed with CPU indices,
but refuses a CPU tensor indexed with device indices ("indices should be either on cpu or on the
same device as the indexed tensor (cpu)")."""

COUNTS: collections.Counter = collections.Counter()
_installed = False


class DeviceTensor(torch.Tensor):
    """A tensor that lives on ``fakegpu``; its numbers are in the CPU tensor ``_inner``."""

    @staticmethod
    def __new__(cls, inner: torch.Tensor):
        wrapper = torch.Tensor._make_wrapper_subclass(
            cls, inner.size(), strides=inner.stride(), storage_offset=inner.storage_offset(),
            dtype=inner.dtype, layout=inner.layout, device=DEVICE, requires_grad=False,
            dispatch_sizes_strides_policy="sizes")
        wrapper._inner = inner
        return wrapper

    def __repr__(self, *, tensor_contents=None):
        text = repr(self._inner)
        suffix = f", device='{DEVICE}'"
        return text[:-1] + suffix + ")" if text.endswith(")") else text + suffix

    def data_ptr(self):  # lesson 04 compares storages the way one does on CUDA
        return self._inner.data_ptr()

    def untyped_storage(self):
        return self._inner.untyped_storage()

    def __format__(self, spec):  # f"{loss:.3f}" on a 0-dim tensor, as torch.Tensor does
        if self.dim() == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def tolist(self):  # works on CUDA tensors too (it copies to the host)
        return self._inner.tolist()

    def numpy(self, *, force: bool = False):
        if force:
            return self._inner.detach().numpy()
        raise TypeError(f"can't convert {DEVICE} device type tensor to numpy. Use Tensor.cpu() to "
                        "copy the tensor to host memory first.")

    def __array__(self, dtype=None, copy=None):  # np.asarray(tensor), plt.plot(tensor)
        return self.numpy()

    def __reduce_ex__(self, protocol):
        # torch.save of a device tensor: PyTorch's own format for a device without storages
        # (a CPU copy plus the device's name), so, as a CUDA tensor does, it loads back onto the
        # device, onto map_location when one is given, and (weights_only=True) runs no code.
        return (torch._utils._rebuild_device_tensor_from_cpu_tensor,
                (self._inner.detach().clone(), self.dtype, str(self.device), self.requires_grad))

    # t[:, [1, 3]] = 0: PyTorch turns a list (or NumPy array) index into an index tensor in C++
    # with Python dispatch switched off, which a Python device cannot serve; CUDA accepts a CPU
    # index tensor, so the stand-in builds that one first (same result, same device rules).
    def __getitem__(self, index):
        return super().__getitem__(_index_on_cpu(index))

    def __setitem__(self, index, value):
        return super().__setitem__(_index_on_cpu(index), value)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _dispatch(func, args, kwargs or {})


def _index_on_cpu(index):
    if isinstance(index, tuple):
        return tuple(_index_on_cpu(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.as_tensor(index, device="cpu")
    if isinstance(index, list) and not any(isinstance(i, (torch.Tensor, slice)) or i is None or i is Ellipsis
                                           for i in index):
        array = np.asarray(index)
        if array.size == 0:  # selects nothing, with an integer index as in PyTorch
            return torch.empty(array.shape, dtype=torch.long)
        if array.dtype.kind in "biu":  # (nested) lists of ints or bools
            return torch.as_tensor(array, device="cpu")
    return index


def _on_device(device) -> bool:
    return device is not None and torch.device(device).type == NAME


def _wrap(value):
    if isinstance(value, torch.Tensor) and not isinstance(value, DeviceTensor):
        return DeviceTensor(value)
    return value


def _unwrap(value):
    return value._inner if isinstance(value, DeviceTensor) else value


def mixup_error(func) -> RuntimeError:
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{DEVICE} and cpu! (when checking arguments for {func.__name__}; raised by "
        "tests/fakegpu, the stand-in GPU)")


# Size, stride and layout queries: answered by the wrapped tensor (an out= operation may have
# resized it), not counted as device work.
_METADATA = {
    aten.sym_size.default, aten.sym_size.int, aten.sym_stride.default, aten.sym_stride.int,
    aten.sym_numel.default, aten.sym_storage_offset.default, aten.dim.default,
    aten.is_contiguous.default, aten.is_contiguous.memory_format,
    aten.is_strides_like_format.default, aten.is_non_overlapping_and_dense.default,
}


# Every operation's arguments and results, walked once per call: PyTorch's pytree costs more
# than most small operations themselves, so plain lists, tuples and dicts (all an ATen call
# passes) are walked here and anything else is left to pytree.
def _leaves(value):
    kind = type(value)
    if kind is list or kind is tuple:
        for item in value:
            yield from _leaves(item)
    elif kind is dict:
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple, dict)) and not isinstance(value, torch.Size):
        yield from tree_flatten(value)[0]
    else:
        yield value


def _map(fn, value):
    kind = type(value)
    if kind is list or kind is tuple:
        return kind(_map(fn, item) for item in value)
    if kind is dict:
        return {key: _map(fn, item) for key, item in value.items()}
    if isinstance(value, (list, tuple, dict)) and not isinstance(value, torch.Size):
        return tree_map(fn, value)
    return fn(value)


class _Schema:
    """What ``_dispatch`` asks of an operation's schema, worked out once per operation."""

    def __init__(self, func):
        arguments = func._schema.arguments
        self.device_at = next((i for i, a in enumerate(arguments) if a.name == "device"), None)
        written = [(i, a.name) for i, a in enumerate(arguments) if a.alias_info is not None and a.alias_info.is_write]
        returns = func._schema.returns
        self.returns_written = bool(len(returns) == 1 and returns[0].alias_info is not None
                                    and returns[0].alias_info.is_write)
        self.written = written
        self.returns_view = bool(returns and returns[0].alias_info is not None)


_SCHEMAS: dict = {}


def _schema(func) -> _Schema:
    info = _SCHEMAS.get(func)
    if info is None:
        info = _SCHEMAS[func] = _Schema(func)
    return info


def _target_device(func, args, kwargs):
    """The ``device`` an operation is asked to produce on (positional or keyword), or None;
    for ``tensor.to(other)`` the other tensor's device."""
    if func is aten.to.other:
        other = args[1] if len(args) > 1 else kwargs["other"]
        return other.device
    if "device" in kwargs:
        return kwargs["device"]
    at = _schema(func).device_at
    return args[at] if at is not None and at < len(args) else None


def _replace_device(func, args, kwargs, device):
    if "device" in kwargs:
        return args, {**kwargs, "device": device}
    at = _schema(func).device_at
    if at is not None and at < len(args):
        args = (*args[:at], device, *args[at + 1:])
    return tuple(args), kwargs


def _dispatch(func, args, kwargs):
    if func in _METADATA:
        return func(args[0]._inner, *args[1:])
    COUNTS[func.__name__] += 1
    flat = list(_leaves((args, kwargs)))
    if func not in MIXED_OK and any(
            isinstance(t, torch.Tensor) and not isinstance(t, DeviceTensor) and t.dim() > 0
            for t in flat):
        raise mixup_error(func)
    if func in INDEXING and not isinstance(args[0], DeviceTensor) and any(
            isinstance(t, DeviceTensor) for t in _leaves(args[1])):
        raise RuntimeError(f"indices should be either on cpu or on the same device as the indexed tensor (cpu) "
                           f"(when checking arguments for {func.__name__}; raised by tests/fakegpu, the stand-in GPU)")
    target = _target_device(func, args, kwargs)
    leaving = target is not None and not _on_device(target)  # .cpu(), .to("cpu"), .to(cpu_tensor)
    inner_args, inner_kwargs = _map(_unwrap, args), _map(_unwrap, kwargs)
    if target is not None and _on_device(target):
        inner_args, inner_kwargs = _replace_device(func, inner_args, inner_kwargs, torch.device("cpu"))
    out = func(*inner_args, **inner_kwargs)
    if leaving:
        # a plain CPU tensor, never sharing memory with the device tensor (a real copy, as from a GPU)
        sources = {_unwrap(t).untyped_storage().data_ptr() for t in flat if isinstance(t, torch.Tensor)}
        return _map(lambda t: t.clone() if isinstance(t, torch.Tensor)
                    and t.untyped_storage().data_ptr() in sources else t, out)
    schema = _schema(func)
    if schema.returns_written:
        # in-place or out=: hand back the very tensor that was written to
        for i, name in schema.written:
            if i < len(args):
                return args[i]
        for i, name in schema.written:
            if name in kwargs:
                return kwargs[name]
    if schema.returns_view and torch.is_inference_mode_enabled() \
            and isinstance(args[0], DeviceTensor) and not args[0].is_inference():
        # a view of a normal tensor taken under inference_mode is a normal tensor, as on CUDA
        with torch.inference_mode(False):
            return _map(_wrap, out)
    return _map(_wrap, out)


def _backend_kernel(keyset, op, *args, **kwargs):
    """The device's kernel for operations that reach it below ``__torch_dispatch__``: factories
    with no device tensor among their arguments (``torch.zeros(..., device=device)``, the
    ``empty`` behind ``cpu_tensor.to(device)``), and calls made while PyTorch has switched
    Python dispatch off (``torch.tensor(data, device=device)`` copies in there)."""
    if any(isinstance(t, DeviceTensor) for t in _leaves((args, kwargs))):
        return _dispatch(op, args, kwargs)
    COUNTS[op.__name__] += 1
    if _on_device(kwargs.get("device")):
        kwargs = {**kwargs, "device": torch.device("cpu")}
    return _map(_wrap, op(*args, **kwargs))


_FROM_DATA = [(torch, "tensor"), (torch, "as_tensor"), (torch, "asarray"), (torch.Tensor, "new_tensor")]


def _default_device():
    """``torch.get_default_device()`` without its ``torch.tensor([])`` (which would land here)."""
    from torch.overrides import _get_current_function_mode_stack
    from torch.utils._device import DeviceContext

    for mode in reversed(_get_current_function_mode_stack()):
        if isinstance(mode, DeviceContext):
            return mode.device
    context = getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None)
    return context.device if context is not None else None


def _from_data(func):
    """``torch.tensor(data, device=device)`` and its kin build the tensor with PyTorch's Python
    dispatch switched off, which a Python device cannot serve: build it on the CPU, then move it
    (what these functions do inside for CUDA too). The four functions themselves are wrapped: a
    ``TorchFunctionMode`` doing the same sent every torch call through Python (lesson 08 on the
    stand-in took 19.3 s with it, 18.4 s without) and held only in the thread that entered it."""
    is_method = func is torch.Tensor.new_tensor

    @functools.wraps(func)
    def from_data(*args, **kwargs):
        if "device" not in kwargs:
            # the device it would land on: self's for new_tensor, else the default device
            # (torch.set_default_device(device))
            default = args[0].device if is_method else _default_device()
            if _on_device(default):
                kwargs = {**kwargs, "device": DEVICE}
        if _on_device(kwargs.get("device")):
            kwargs = dict(kwargs)
            device = kwargs.pop("device")
            requires_grad = kwargs.pop("requires_grad", False)
            kwargs.pop("pin_memory", None)
            out = func(*args, **kwargs, device="cpu").to(device)  # "cpu" also stops set_default_device
            return out.requires_grad_(True) if requires_grad else out
        return func(*args, **kwargs)

    return from_data


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() and a.dtype == b.dtype
            and a.shape == b.shape and a.stride() == b.stride() and a.storage_offset() == b.storage_offset())


_LOADED: set = set()  # data pointers of the storages the current torch.load sent to the device


def _restore(storage, location: str):
    """A storage that ``torch.load`` maps onto the device (``map_location=device``, a dict or a
    function naming it): a Python device holds no storages, so it stays on the CPU here and is
    remembered; ``_load`` turns every tensor built on it into a device tensor before returning,
    so the caller gets device tensors, exactly as ``map_location="cuda"`` gives CUDA tensors."""
    if location.startswith(NAME):
        _LOADED.add(storage.data_ptr())
        return storage
    return None


def _to_device(value, memo: dict):
    """``value`` (a loaded object) with every tensor whose storage ``_restore`` kept moved to the device."""
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, torch.Tensor):
        if isinstance(value, DeviceTensor) or value.untyped_storage().data_ptr() not in _LOADED:
            return value
        moved = value.detach().to(DEVICE)
        if isinstance(value, torch.nn.Parameter):
            moved = torch.nn.Parameter(moved, requires_grad=value.requires_grad)
        elif value.requires_grad:
            moved.requires_grad_(True)
        memo[id(value)] = moved
        return moved
    if isinstance(value, torch.nn.Module):
        if any(t.untyped_storage().data_ptr() in _LOADED for t in (*value.parameters(), *value.buffers())):
            value.to(DEVICE)
        return value
    if isinstance(value, dict):
        items = [(k, _to_device(v, memo)) for k, v in value.items()]
        try:
            out = type(value)(items)  # an OrderedDict stays one
        except TypeError:
            out = dict(items)
        if getattr(value, "__dict__", None):
            out.__dict__.update(value.__dict__)  # a state_dict's _metadata
        return out
    if isinstance(value, list):
        return [_to_device(v, memo) for v in value]
    if isinstance(value, tuple):
        items = [_to_device(v, memo) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def _wrap_load(original):
    def load(*args, **kwargs):
        _LOADED.clear()
        try:
            loaded = original(*args, **kwargs)
            return _to_device(loaded, {}) if _LOADED else loaded
        finally:
            _LOADED.clear()

    load.__doc__, load.__wrapped__ = original.__doc__, original
    return load


def _write_log() -> None:
    path = os.environ.get("COURSE_FAKEGPU_LOG")
    if not path:
        return
    record = {"pid": os.getpid(), "ops": sum(COUNTS.values()), "by_op": dict(COUNTS.most_common())}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def install() -> torch.device:
    """Register ``fakegpu`` (once per process) and return its device."""
    global _installed, DEVICE
    if _installed:
        return DEVICE
    from torch.utils.backend_registration import _setup_privateuseone_for_python_backend

    _setup_privateuseone_for_python_backend(NAME)
    DEVICE = torch.device(NAME, 0)
    library = torch.library.Library("_", "IMPL")
    library.fallback(_backend_kernel, "PrivateUse1", with_keyset=True)
    install.library = library  # keep the registration alive
    torch.serialization.register_package(1, lambda obj: None, _restore)
    torch.load = torch.serialization.load = _wrap_load(torch.serialization.load)
    # model.to(device) must keep the Parameter objects (an optimizer built before the move
    # still holds them): CUDA does it with ``param.data = ...``, which a Python device cannot;
    # swapping the tensors in place keeps them just the same.
    torch.__future__.set_swap_module_params_on_conversion(True)
    original_swap = torch.utils.swap_tensors

    def swap_tensors(t1, t2):
        if isinstance(t1, DeviceTensor) and isinstance(t2, DeviceTensor) and _same_memory(t1._inner, t2._inner):
            return  # already on the device: nothing moves (CUDA's ``param.data = param`` changes nothing)
        return original_swap(t1, t2)

    torch.utils.swap_tensors = swap_tensors
    atexit.register(_write_log)
    for owner, name in _FROM_DATA:
        setattr(owner, name, _from_data(getattr(owner, name)))
    _installed = True
    return DEVICE
