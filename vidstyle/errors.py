"""The exceptions vidstyle raises, each tied to the exit code DESIGN §8 promises.

The CLI maps them to one line on stderr; library users can catch them by type, and
also by the matching builtin (a missing file is still a ``FileNotFoundError``).
"""

from __future__ import annotations


class VidstyleError(Exception):
    """Base class: a failure we can explain to the user in one line."""

    exit_code = 1


class UsageError(VidstyleError, ValueError):
    """Bad usage or bad input (missing file, unknown style, bad cue line): exit 2."""

    exit_code = 2


class InputNotFound(UsageError, FileNotFoundError):
    """An input path that does not exist."""


class BadInput(UsageError):
    """An input that exists but cannot be used (not a video, no video stream, corrupt)."""


class StyleError(UsageError):
    """A style name that does not resolve or a style pack that fails validation."""


class OutputExists(UsageError, FileExistsError):
    """The output exists and ``--overwrite`` was not given."""


class RuntimeFailure(VidstyleError, RuntimeError):
    """Decode/encode failure or out-of-memory after back-off: exit 1."""


def describe(path: object, problem: str) -> str:
    """One-line message naming the file first, the way compilers do."""
    return f"{path}: {problem}"
