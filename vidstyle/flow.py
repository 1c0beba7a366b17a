"""Dense optical flow between *input* frames, warping, and where that flow can be trusted.

Shared by the flow smoother (``vidstyle.temporal``) and the warping-error metric
(``vidstyle.evaluate``), so both mean the same thing by "warp" and "occluded".

Flow is computed on a downscaled grey copy (the expensive part scales with pixels, and
style texture does not need sub-pixel flow at full resolution), then scaled back up. The
reliability mask follows Ruder et al. 2016: a pixel is trusted where forward and backward
flow agree, where it came from inside the previous frame, and where its colour did not
jump (which catches shot changes, flashes and disocclusions the consistency test misses).

Conventions: ``flow[y, x] = (dx, dy)`` such that ``a[y, x] ~ b[y + dy, x + dx]`` for
``flow = compute(a, b)`` (OpenCV's). Images are uint8 RGB HxWx3 unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Ruder et al.'s forward-backward consistency test: |f + b|^2 > A (|f|^2 + |b|^2) + B.
_FB_REL = 0.01
_FB_ABS = 0.5
# Mean absolute RGB difference (0..255) above which a warped pixel counts as a new surface.
COLOUR_JUMP = 30.0


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def downscale(img: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Shrink so the longer side is at most ``max_side``; returns the image and the factor."""
    h, w = img.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return img, 1.0
    s = max_side / max(h, w)
    size = (max(8, round(w * s)), max(8, round(h * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), s


class FlowEstimator:
    """One optical-flow method with its reusable state (not thread-safe: one per thread).

    ``dis`` (OpenCV DIS, the fast default for smoothing) or ``farneback`` (slower and a
    different algorithm: the metric uses it so the smoother is not graded by its own flow).
    """

    def __init__(self, method: str = "dis", preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST
                 ) -> None:
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown flow method {method!r} (dis, farneback)")
        self.method = method
        self._dis = cv2.DISOpticalFlow_create(preset) if method == "dis" else None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from grey ``a`` to grey ``b`` (same size): HxWx2 float32."""
        if self._dis is not None:
            return self._dis.calc(a, b, None)
        return cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=4, winsize=15,
                                            iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates ``x + dx``, ``y + dy`` for ``cv2.remap``."""
    h, w = flow.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    return xs, ys


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Resample ``img`` (the *later*-indexed frame ``b`` of ``flow``) onto ``a``'s grid."""
    xs, ys = sample_maps(flow)
    return cv2.remap(img, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Flow at another resolution (``size`` = (H, W)): resampled and its vectors rescaled."""
    h0, w0 = flow.shape[:2]
    h, w = size
    if (h, w) == (h0, w0):
        return flow
    up = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    up[..., 0] *= w / w0
    up[..., 1] *= h / h0
    return up


def reliable_mask(back: np.ndarray, fwd: np.ndarray, cur: np.ndarray, prev: np.ndarray,
                  colour_jump: float = COLOUR_JUMP) -> np.ndarray:
    """Where ``prev`` warped by ``back`` can stand in for ``cur``: HxW bool.

    ``back = flow(cur -> prev)``, ``fwd = flow(prev -> cur)``; ``cur``/``prev`` are the
    input frames at the flows' resolution (RGB or grey).
    """
    h, w = back.shape[:2]
    xs, ys = sample_maps(back)
    inside = (xs >= -0.5) & (xs <= w - 0.5) & (ys >= -0.5) & (ys <= h - 0.5)
    fwd_at = cv2.remap(fwd, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    loop = back + fwd_at
    consistent = (loop ** 2).sum(-1) <= _FB_REL * ((back ** 2).sum(-1)
                                                  + (fwd_at ** 2).sum(-1)) + _FB_ABS
    prev_w = cv2.remap(prev, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = np.abs(cur.astype(np.float32) - prev_w.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.mean(-1)
    # Judge colour over a small patch: single pixels of a new surface match by chance.
    diff = cv2.GaussianBlur(diff, (0, 0), 1.5)
    ok = (inside & consistent & (diff <= colour_jump)).astype(np.uint8)
    # Trust no pixel next to an untrusted one: flow is least accurate at motion edges.
    return cv2.erode(ok, np.ones((3, 3), np.uint8)).astype(bool)


@dataclass
class Motion:
    """How frame ``t`` relates to ``t-1``, at full resolution."""

    back: np.ndarray  # HxWx2: flow(cur -> prev), to warp anything of t-1 onto t's grid
    reliable: np.ndarray  # HxW float32 in 0..1 (soft at the edges when upsampled)

    def at(self, size: tuple[int, int]) -> Motion:
        """The same motion on a grid of ``size`` (H, W), e.g. an output of another size."""
        if self.reliable.shape == tuple(size):
            return self
        ok = cv2.resize(self.reliable, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        return Motion(resize_flow(self.back, size), ok)


def estimate_motion(estimator: FlowEstimator, cur: np.ndarray, prev: np.ndarray,
                    max_side: int | None, size: tuple[int, int] | None = None) -> Motion:
    """Backward flow and its reliability between input frames ``prev`` -> ``cur``.

    Computed at ``max_side`` and returned at ``size`` (H, W; default the inputs' size),
    so the caller can warp an output frame whose size differs from the input's.
    """
    small_cur, _ = downscale(cur, max_side)
    small_prev, _ = downscale(prev, max_side)
    g_cur, g_prev = gray(small_cur), gray(small_prev)
    back = estimator(g_cur, g_prev)
    fwd = estimator(g_prev, g_cur)
    ok = reliable_mask(back, fwd, small_cur, small_prev).astype(np.float32)
    return Motion(back, ok).at(size or cur.shape[:2])
