"""The Python API: ``render``, ``stylize_image``, ``load_style`` (DESIGN §2).

Everything heavy (PyAV, torch) is imported inside the functions, so ``import vidstyle``
stays instant and has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def load_style(ref: str, arch: str | None = None):
    """Resolve a style reference (name, ``name@pack``, pack path) -> (StylePack, style name)."""
    from vidstyle.styles.registry import resolve_style

    return resolve_style(ref, prefer_arch=arch)


def render(src: str | os.PathLike, out: str | os.PathLike, style: str = "none", *,
           strength: float = 1.0, schedule: Any = None, device: str = "auto",
           precision: str = "auto", batch: int | None = None, max_size: int | None = None,
           arch: str | None = None, codec: str | None = None, crf: int | None = None,
           preset: str | None = None, overwrite: bool = False, quiet: bool = True,
           smoother: Any = None) -> dict[str, Any]:
    """Paint every frame of ``src`` into ``out`` (audio and timing kept); returns a summary.

    ``schedule`` (a ``vidstyle.schedule.Schedule``, e.g. from cues) overrides ``style``.
    """
    from vidstyle.io.encode import EncodeSettings
    from vidstyle.pipeline import make_painter, render_file
    from vidstyle.schedule import ConstantSchedule

    schedule = schedule or ConstantSchedule(style, strength)
    paint = make_painter(list(schedule.styles), device, precision, max_size, arch)
    result = render_file(str(src), out, schedule, paint=paint, smoother=smoother, batch=batch,
                         settings=EncodeSettings(codec, crf, preset), overwrite=overwrite,
                         quiet=quiet)
    result["style"] = ",".join(schedule.styles) or "none"
    return result


def stylize_image(image: np.ndarray | str | os.PathLike, style: str, *, strength: float = 1.0,
                  device: str = "auto", precision: str = "auto", max_size: int | None = None,
                  arch: str | None = None) -> np.ndarray:
    """Paint one image (uint8 RGB array or a file path, EXIF orientation honoured)."""
    from vidstyle.pipeline import make_painter

    if not isinstance(image, np.ndarray):
        from vidstyle.train.images import read_rgb

        image = np.array(read_rgb(Path(image)))  # writable (torch warns on read-only)
    paint = make_painter([style], device, precision, max_size, arch)
    if paint is None:
        return image.copy()
    return paint(image[None], [{style: 1.0}], strength)[0]
