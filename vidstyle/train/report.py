"""Preview sheets and loss plots saved beside a pack, drawn with OpenCV (no plotting stack)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_COLOURS = {"total": (0, 0, 0), "content": (200, 60, 0), "style": (0, 0, 200),
            "tv": (0, 150, 0), "stability": (150, 0, 150)}


def save_preview(rgb: np.ndarray, path: Path) -> None:
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


def save_loss_plot(history: list[dict[str, float]], path: Path, w: int = 800, h: int = 400
                   ) -> None:
    """Log-scale loss curves (smoothed over 25 iterations), one colour per term."""
    import cv2

    img = np.full((h, w, 3), 255, np.uint8)
    if len(history) < 2:
        cv2.imwrite(str(path), img)
        return
    series = {k: np.array([r[k] for r in history if k in r], float)
              for k in _COLOURS if k in history[-1]}
    logs = {k: np.log10(np.convolve(np.maximum(v, 1e-12), np.ones(25) / 25, mode="valid")
                        if len(v) > 25 else np.maximum(v, 1e-12)) for k, v in series.items()}
    lo = min(v.min() for v in logs.values())
    hi = max(v.max() for v in logs.values())
    hi = hi if hi > lo else lo + 1
    m = 40
    for k, v in logs.items():
        xs = np.linspace(m, w - m, len(v))
        ys = h - m - (v - lo) / (hi - lo) * (h - 2 * m)
        pts = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(img, [pts], False, _COLOURS[k], 1, cv2.LINE_AA)
        cv2.putText(img, k, (w - m - 90, m + 18 * list(logs).index(k)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, _COLOURS[k], 1, cv2.LINE_AA)
    cv2.putText(img, f"log10 loss {10**lo:.2g}..{10**hi:.2g}; iterations 1..{len(history)}",
                (m, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)
