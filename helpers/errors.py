"""Every error the course raises for a student to read, in one module: what is wrong and what to do, in Korean.

Light to import (no torch), so every helpers module can raise them. Each is a ``CourseError``;
those a library user may expect as a built-in kind are that kind too (``DataLayoutError`` is a
``ValueError``, ``DownloadError`` an ``OSError`` ...).

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


class CourseFileNotFoundError(CourseError, FileNotFoundError):
    """A file or folder the course needs is not there (the data folder, a checkpoint)."""


class CoursePermissionError(CourseError, PermissionError):
    """A folder the course must write to cannot be written (a read-only course folder on a hub)."""


class CourseTypeError(CourseError, TypeError):
    """An argument of the wrong kind (mean and std where a ``Preprocess`` is expected ...)."""


class UnknownExercise(CourseKeyError):
    """``check("NN.k", ...)`` names an exercise without a check."""


class ExerciseFailed(CourseError, AssertionError):
    """A wrong answer to an exercise. Shown in Jupyter as the Korean verdict alone (no traceback)."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [str(self)]


class DataLayoutError(CourseError, ValueError):
    """The data folder is not ``root/<split>/<class>/<images>`` with the same classes in every split."""


class BadImageError(CourseError, OSError):
    """An image file that cannot be read (damaged, too large, not an image)."""


class CheckpointError(CourseError, RuntimeError):
    """A checkpoint file that cannot be used here: damaged, unsafe, or made for another model."""


class DeviceError(CourseValueError):
    """A ``device`` argument that names no device (the message is Korean and says what to pass)."""


class UnknownArchError(CourseValueError):
    """``arch`` names neither the packaged backbone nor a torchvision classification model."""


class PackagedWeightsError(CourseValueError, RuntimeError):
    """The packaged EfficientNet-Lite0 file does not fit timm's model (a broken install)."""


class HeadError(CourseValueError):
    """The model's classification head cannot be found (or ``head=`` names no Linear layer)."""


class DownloadError(CourseError, OSError):
    """A download or its check failed; the message (Korean) says which URL/file and what to do."""


class NoNetworkError(DownloadError, ConnectionError):
    """The server could not be reached, stopped sending (time-out) or cut the transfer short."""


class ChecksumError(DownloadError, ValueError):
    """The file's SHA-256 differs from the recorded value, or a first download is not trusted."""


class BadWeightsError(DownloadError):
    """A weight file in a cache could not be read (corrupt, truncated or for another model)."""


class CourseBug(CourseError, RuntimeError):
    """The course's own reference computations disagree: a bug in the course, not in the student's answer."""
