"""Atomic output (DESIGN §3): write beside the target, rename at the end, never half a file.

A reader of OUT sees either nothing, the old file, or the finished new one. The temp
file lives in the target directory (a rename across filesystems would copy) and keeps
the target's extension so the muxer's format is the same.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidstyle.errors import OutputExists, UsageError, describe


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(out: Path, inputs: list[str], overwrite: bool) -> None:
    """Refuse what would lose data or fail late: OUT == an input, an existing OUT, a bad dir."""
    for src in inputs:
        if "://" not in src and _same_file(out, Path(src)):
            raise UsageError(describe(out, "is the input; choose a different output name"))
    if out.is_dir():
        raise UsageError(describe(out, "is a directory; give a file name"))
    if out.exists() and not overwrite:
        raise OutputExists(describe(out, "exists (use --overwrite)"))
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        problem = "is a file, not a directory" if parent.exists() else "does not exist"
        raise UsageError(describe(out, f"directory {parent} {problem}"))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(describe(out, f"directory {parent} is not writable"))


def temp_name(out: Path) -> Path:
    return out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}.partial{out.suffix}")


@contextmanager
def atomic_output(out: str | os.PathLike, inputs: list[str] | None = None,
                  overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp path to write; on success rename it to ``out``, on any failure delete it.

    ``BaseException`` is caught on purpose: Ctrl-C must not leave a ``.partial`` behind.
    """
    target = Path(out)
    check_output(target, inputs or [], overwrite)
    tmp = temp_name(target)
    try:
        yield tmp
        if target.exists() and not overwrite:  # appeared while we worked
            raise OutputExists(describe(target, "exists (use --overwrite)"))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
