"""Atomic output (DESIGN §3): write beside the target, rename at the end, never half a file.

A reader of OUT sees either nothing, the old file, or the finished new one. The temp
file lives in the target directory (a rename across filesystems would copy) and keeps
the target's extension so the muxer's format is the same.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _new_file_mode() -> int:
    """0o666 less the umask: what ``open()`` would have given the target.

    Reading the umask means setting it for a moment, so it is read once per process.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish(tmp: Path, target: Path) -> None:
    """Rename a finished temp file onto ``target``.

    Writers such as safetensors and ``mkstemp`` create private (0600) files; the target
    gets the mode a plainly written file would have, so a pack or cue file can be shared.
    """
    os.chmod(tmp, _new_file_mode())
    os.replace(tmp, target)


@contextmanager
def replacing(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it over ``target`` once the body
    finishes, delete it on any failure (``BaseException``: Ctrl-C included)."""
    target = Path(target)
    tmp = temp_name(target)
    try:
        yield tmp
        publish(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_output(out: str | os.PathLike, inputs: list[str] | None = None,
                  overwrite: bool = False) -> Iterator[Path]:
    """Check ``out`` (see ``check_output``), then write it through ``replacing``."""
    target = Path(out)
    check_output(target, inputs or [], overwrite)
    with replacing(target) as tmp:
        yield tmp
        if target.exists() and not overwrite:  # appeared while we worked
            raise OutputExists(describe(target, "exists (use --overwrite)"))
