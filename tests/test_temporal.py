"""Smoothing stages on synthetic clips with known motion (tiny frames, milliseconds each)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidstyle.errors import UsageError
from vidstyle.flow import FlowEstimator, estimate_motion, warp
from vidstyle.temporal import EmaSmoother, FlowSmoother, ShotDetector, make_smoother

H, W = 96, 128
MARGIN = 12  # pixels near the border come from outside the previous frame


def texture(seed: int, h: int = H + 40, w: int = W + 40) -> np.ndarray:
    """Smooth random colour texture (trackable by optical flow), full 0..255 range."""
    noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)


def view(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The camera window moved by (dx, dy): content moves by (-dx, -dy)."""
    return np.ascontiguousarray(img[20 + dy:20 + dy + H, 20 + dx:20 + dx + W])


def other_shot() -> np.ndarray:
    """A different scene: another texture in another palette (dark, bluish)."""
    tint = np.array([0.3, 0.4, 0.9], np.float32)
    return (view(texture(5), 0, 0) * tint).astype(np.uint8)


def interior(a: np.ndarray) -> np.ndarray:
    return a[MARGIN:-MARGIN, MARGIN:-MARGIN].astype(np.float32)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_warp_follows_a_known_shift(method: str) -> None:
    scene, painted = texture(1), texture(2)  # input and its "stylised" counterpart
    prev, cur = view(scene, 0, 0), view(scene, 3, 2)
    motion = estimate_motion(FlowEstimator(method), cur, prev, None)
    assert np.allclose(np.median(motion.back[MARGIN:-MARGIN, MARGIN:-MARGIN], (0, 1)),
                       (3, 2), atol=0.25)
    warped = warp(view(painted, 0, 0), motion.back)
    assert np.abs(interior(warped) - interior(view(painted, 3, 2))).mean() < 3.0
    assert motion.reliable[MARGIN:-MARGIN, MARGIN:-MARGIN].mean() > 0.9


def test_flow_smoother_blends_the_shifted_previous_output() -> None:
    scene, painted = texture(1), texture(2)
    sm = FlowSmoother(strength=0.9)
    first = sm.process(view(scene, 0, 0), view(painted, 0, 0), cut=False)
    assert np.array_equal(first, view(painted, 0, 0))  # nothing to blend with yet
    black = np.zeros((H, W, 3), np.uint8)
    out = sm.process(view(scene, 3, 2), black, cut=False)
    expected = 0.9 * interior(view(painted, 3, 2))
    assert np.abs(interior(out) - expected).mean() < 3.0


def test_occluded_region_keeps_the_new_output() -> None:
    scene = texture(1)
    prev = view(scene, 0, 0)
    cur = view(scene, 2, 0)
    cur[30:70, 40:90] = other_shot()[30:70, 40:90]  # a new object comes into view
    white = np.full((H, W, 3), 255, np.uint8)
    black = np.zeros((H, W, 3), np.uint8)
    sm = FlowSmoother(strength=0.9)
    sm.process(prev, white, cut=False)
    out = sm.process(cur, black, cut=False)
    assert out[36:64, 46:84].max() == 0  # occluded: the previous frame does not leak in
    assert out[MARGIN:-MARGIN, MARGIN:30].mean() > 200  # tracked background: blended


@pytest.mark.parametrize("kind", ["ema", "flow"])
def test_cue_cut_resets_the_state(kind: str) -> None:
    sm = make_smoother(kind, 0.9)
    assert sm is not None
    scene = texture(1)
    white = np.full((H, W, 3), 255, np.uint8)
    black = np.zeros((H, W, 3), np.uint8)
    sm.process(view(scene, 0, 0), white, cut=False)
    assert np.array_equal(sm.process(view(scene, 1, 0), black, cut=True), black)
    assert sm.process(view(scene, 2, 0), white, cut=False).mean() < 255  # blends again
    sm.reset()
    assert np.array_equal(sm.process(view(scene, 3, 0), black, cut=False), black)


@pytest.mark.parametrize("cls", [EmaSmoother, FlowSmoother])
def test_shot_change_in_the_input_resets_without_a_cue(cls: type) -> None:
    sm = cls(0.9)
    white = np.full((H, W, 3), 255, np.uint8)
    black = np.zeros((H, W, 3), np.uint8)
    sm.process(view(texture(1), 0, 0), white, cut=False)
    assert np.array_equal(sm.process(other_shot(), black, cut=False), black)


def test_shot_detector_ignores_motion_and_flags_a_new_scene() -> None:
    det = ShotDetector()
    scene = texture(1)
    assert not any(det(view(scene, dx, dx // 2)) for dx in range(0, 20, 4))
    assert det(other_shot())


def test_ema_is_an_exponential_blend() -> None:
    sm = EmaSmoother(0.25)
    src = view(texture(1), 0, 0)
    sm.process(src, np.full((H, W, 3), 200, np.uint8), cut=False)
    out = sm.process(src, np.full((H, W, 3), 100, np.uint8), cut=False)
    assert np.all(out == 125)


def test_make_smoother_kinds_and_bad_input() -> None:
    assert make_smoother("none", 0.5) is None
    assert isinstance(make_smoother("ema", None), EmaSmoother)
    cheap = make_smoother("flow", 0.5, cheap=True)
    assert isinstance(cheap, FlowSmoother) and cheap.flow_side < FlowSmoother(0.5).flow_side
    with pytest.raises(UsageError, match="--smooth must"):
        make_smoother("median", 0.5)
    with pytest.raises(UsageError, match="--smooth-strength"):
        make_smoother("flow", 1.0)
