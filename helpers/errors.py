"""The course's error type: every error a student reads says what is wrong and what to do, in Korean.

Light to import (no torch), so every helpers module can raise it.

>>> from helpers.errors import CourseError
>>> try: ...
... except CourseError as err: print(err)
"""
from __future__ import annotations


class CourseError(Exception):
    """Base of the errors the course raises for a student to read.

    The message names the file or folder, says what is wrong and what to do (in Korean).
    ``except CourseError`` catches every one of them.
    """


class CourseValueError(CourseError, ValueError):
    """A wrong argument (a model, a split, a name); also a ``ValueError``."""


class CourseKeyError(CourseError, KeyError):
    """A name that is not there (a layer, a recorded value); also a ``KeyError``."""

    def __str__(self) -> str:  # KeyError would show the message in quotes, with \n escaped
        return str(self.args[0]) if self.args else ""


class SelfCheckFailed(CourseError, AssertionError):
    """A claim of the lesson's self-check does not hold. Jupyter shows the Korean message and the
    self-check's line, not a traceback (``helpers.selfcheck.self_check``)."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return str(self).splitlines()


class TrainingDiverged(CourseError, FloatingPointError):
    """The loss became NaN or infinite: ``fit`` stops there, before the bad step changes the weights."""
