"""Reading style paintings and content photos, whatever odd format they come in.

Paintings come from anywhere: palette and RGBA PNGs, CMYK JPEGs, 16-bit scans, phone
photos with EXIF rotation. Each becomes plain 8-bit RGB here or fails with one line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from vidstyle.errors import BadInput, InputNotFound, UsageError, describe

MIN_STYLE_SIDE = 64
MAX_ASPECT = 8.0
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_rgb(path: str | Path) -> np.ndarray:
    """Any still image -> uint8 RGB (H, W, 3), upright, transparency flattened on white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputNotFound(describe(path, "no such file"))
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float64)
                peak = 65535.0 if arr.max() > 255 else 255.0
                grey = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
                return np.repeat(grey[:, :, None], 3, axis=2)
            if im.mode == "P":
                im = im.convert("RGBA")
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                im = im.convert("RGBA")
                canvas = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(canvas, im)
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput(describe(path, f"not a readable image ({exc})")) from None
    return np.ascontiguousarray(rgb)


def read_style_image(path: str | Path) -> np.ndarray:
    """A painting, checked to be large and square enough to carry texture statistics."""
    rgb = read_rgb(path)
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_STYLE_SIDE:
        raise UsageError(describe(path, f"style image is {w}x{h}; its shorter side must be at "
                                        f"least {MIN_STYLE_SIDE} px"))
    if max(h, w) / min(h, w) > MAX_ASPECT:
        raise UsageError(describe(path, f"style image is {w}x{h}; aspect ratio above "
                                        f"{MAX_ASPECT:g}:1 is too extreme to use"))
    return rgb


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFound(describe(folder, "content folder not found"))
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(describe(folder, "no images (.jpg/.png/...) in the content folder"))
    return files


def resize_short(rgb: np.ndarray, short: int) -> np.ndarray:
    """Resize so the shorter side is ``short`` (area filter down, cubic up)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, size, interpolation=interp)
