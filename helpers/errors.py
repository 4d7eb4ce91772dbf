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
