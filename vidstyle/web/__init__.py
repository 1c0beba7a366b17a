"""The live web page: plain HTML/JS/CSS shipped as package data (no build step).

``vidstyle.web.server`` serves it with the MJPEG stream and the JSON control endpoints.
"""

from __future__ import annotations

from importlib import resources

ASSETS = {"index.html": "text/html; charset=utf-8",
          "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}


def asset(name: str) -> bytes:
    """The bytes of one shipped page file (only names in ``ASSETS``)."""
    if name not in ASSETS:
        raise KeyError(name)
    return resources.files(__name__).joinpath(name).read_bytes()
