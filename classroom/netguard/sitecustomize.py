"""Imported by Python at start-up when this folder is on PYTHONPATH: no network for this process.

    PYTHONPATH=classroom/netguard COURSE_NETGUARD_LOG="$(mktemp)" python ...

See ``netguard.py``. Set ``COURSE_NETGUARD=0`` to switch it off without changing PYTHONPATH.
"""
import os

if os.environ.get("COURSE_NETGUARD", "1") != "0":
    import netguard

    netguard.install()
