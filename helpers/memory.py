"""Memory hygiene for small machines: hand freed memory back to the operating system.

PyTorch frees a batch's activations after each step, but glibc's allocator keeps the pages,
so a process's resident memory only ever grows: after a training section the next one starts
from the old high-water mark, and a lesson that needs 1 GiB at any moment ends up holding 2.
``release_memory()`` returns those pages (``malloc_trim``; a no-op where there is no glibc).
``fit``, ``evaluate``, ``predict`` and ``extract_features`` call it when they finish, and in
Jupyter it also runs after every cell (``watch_cells``, installed when helpers is imported).

>>> from helpers.memory import release_memory
>>> release_memory()
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_libc = None


def release_memory() -> None:
    """Return freed heap pages to the operating system (glibc ``malloc_trim(0)``)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
        if _libc is not False and not hasattr(_libc, "malloc_trim"):  # musl, macOS, Windows
            _libc = False
    if _libc is not False:
        _libc.malloc_trim(0)


def watch_cells() -> bool:
    """In IPython/Jupyter, call ``release_memory`` after every cell; ``True`` if installed."""
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module is not None else None
    if shell is None:
        return False
    callbacks = shell.events.callbacks.get("post_run_cell", [])
    if not any(getattr(cb, "__name__", "") == "_release_after_cell" for cb in callbacks):
        shell.events.register("post_run_cell", _release_after_cell)
    return True


def _release_after_cell(result=None) -> None:
    release_memory()
