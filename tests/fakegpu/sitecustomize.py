"""Imported by Python at start-up when this folder is on PYTHONPATH: a stand-in GPU for this process.

    PYTHONPATH=tests/fakegpu COURSE_FAKEGPU_LOG="$(mktemp)" python ...

See ``fakegpu.py``. Nothing is imported here: the stand-in is registered right after the
process itself imports ``torch`` (a lesson imports ``helpers`` first, which sets the OpenMP
policy before torch loads; importing torch here would change that order).

Also installs the network guard when ``classroom/netguard`` is on PYTHONPATH too (Python imports
only the first ``sitecustomize`` it finds).
"""
import importlib.abc
import importlib.util
import os
import sys


class _AfterTorch(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of ``torch`` to register the device after it."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            import fakegpu

            fakegpu.install()

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _AfterTorch())

_guard = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "classroom", "netguard")
if _guard in [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]:
    sys.path.insert(0, _guard)
    if os.environ.get("COURSE_NETGUARD", "1") != "0":
        import netguard

        netguard.install()
