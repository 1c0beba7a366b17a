"""vidstyle: video and webcam style transfer with feed-forward perceptual-loss networks.

``from vidstyle import render, stylize_image, load_style``: the names resolve lazily, so
importing the package loads neither torch nor PyAV.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_style", "render", "stylize_image"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vidstyle import api

        return getattr(api, name)
    raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")
