"""Make any network connection from this Python process fail loudly; loopback stays allowed.

Used two ways:

- ``PYTHONPATH=classroom/netguard`` makes Python import ``sitecustomize.py`` from this folder at
  start-up, which calls ``install()``: every process started that way (a notebook kernel
  under nbval, a script) is guarded. This is how the test command proves that running the
  lessons makes no network attempt, with downloads allowed (no ``COURSE_OFFLINE``).
- ``tests/test_no_network.py`` imports it and calls ``install()`` / ``uninstall()``.

What is guarded: ``socket.socket.connect`` / ``connect_ex`` (so also ``create_connection``,
urllib, requests, http.client), ``socket.create_connection`` and ``socket.getaddrinfo``
(name look-ups: DNS is itself a network attempt). Loopback (127.0.0.0/8, ::1,
``localhost``) and Unix sockets stay allowed: Jupyter talks to its kernels over 127.0.0.1
(through zmq, in C, which this does not see anyway).

A blocked attempt raises ``NetworkAttemptError`` (a RuntimeError, *not* an OSError, so code
that falls back quietly on OSError cannot swallow it) and, when ``COURSE_NETGUARD_LOG``
names a file, appends one line to it, so an attempt inside a broad ``except`` is still seen.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import time
import traceback

_ORIGINAL: dict = {}


class NetworkAttemptError(RuntimeError):
    """Raised instead of opening a network connection to a non-loopback address."""


def _is_loopback(host) -> bool:
    if host in (None, "", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0]  # drop an IPv6 scope id
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower().endswith(".localhost")


def _block(what: str, target) -> None:
    message = (f"netguard: blocked {what} to {target!r}: lessons and tests must make no network "
               "attempt (set up by classroom/netguard; see its docstring)")
    log = os.environ.get("COURSE_NETGUARD_LOG")
    if log:
        caller = "".join(traceback.format_stack(limit=8)[:-2]).replace("\n", " | ")
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} pid={os.getpid()} {what} {target!r} :: {caller}\n")
    raise NetworkAttemptError(message)


def _check_address(what: str, sock, address) -> None:
    family = getattr(sock, "family", None)
    if family is not None and family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX and friends
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_loopback(host):
        _block(what, address)


def _connect(self, address):
    _check_address("connect", self, address)
    return _ORIGINAL["connect"](self, address)


def _connect_ex(self, address):
    _check_address("connect_ex", self, address)
    return _ORIGINAL["connect_ex"](self, address)


def _create_connection(address, *args, **kwargs):
    if not _is_loopback(address[0]):
        _block("create_connection", address)
    return _ORIGINAL["create_connection"](address, *args, **kwargs)


def _getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host) and host != socket.gethostname():
        _block("getaddrinfo", host)
    return _ORIGINAL["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    """Guard this process (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL.update(connect=socket.socket.connect, connect_ex=socket.socket.connect_ex,
                     create_connection=socket.create_connection, getaddrinfo=socket.getaddrinfo)
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.create_connection = _create_connection
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    """Undo ``install()``."""
    if not _ORIGINAL:
        return
    socket.socket.connect = _ORIGINAL["connect"]
    socket.socket.connect_ex = _ORIGINAL["connect_ex"]
    socket.create_connection = _ORIGINAL["create_connection"]
    socket.getaddrinfo = _ORIGINAL["getaddrinfo"]
    _ORIGINAL.clear()


def installed() -> bool:
    return bool(_ORIGINAL)
