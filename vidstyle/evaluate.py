"""How stable (and how stylised) a rendered video is: the numbers behind ``vidstyle eval``.

Temporal warping error (Lai et al. 2018, ``evaluate_WarpError.py``): for each pair of
consecutive frames, warp output t-1 onto t with the optical flow of the *input* frames,
drop pixels the flow cannot vouch for (occlusions, frame edges, colour jumps), and take
the mean squared difference (RGB in 0..1) over what is left; average over the frames.
A perfectly stable video scores 0; flicker and boiling texture raise it.

The metric uses Farneback flow at a higher resolution than the smoother's DIS flow, so
the ``flow`` smoother is not graded by the very flow it followed.

Frames are streamed in lockstep: memory holds one previous frame per clip, whatever the
length. The clips only need the same frame count; outputs of another size than the
reference are compared on their own grid (flow and mask are resampled to it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import cv2
import numpy as np

from vidstyle.errors import BadInput, describe
from vidstyle.flow import FlowEstimator, Motion, estimate_motion, warp

# Resolution (longer side) of the metric's flow: finer than the smoother's, still fast.
EVAL_FLOW_SIDE = 480
# A pixel counts as reliable when its (resampled) mask value reaches this.
MASK_CUTOFF = 0.5


def masked_mse(cur: np.ndarray, warped_prev: np.ndarray, mask: np.ndarray) -> float | None:
    """Mean squared RGB difference (0..1 scale) over ``mask``; None if nothing is masked in."""
    keep = mask >= MASK_CUTOFF
    n = int(keep.sum())
    if n == 0:
        return None
    diff = cur[keep].astype(np.float32) - warped_prev[keep].astype(np.float32)
    return float(np.mean(diff * diff)) / (255.0 * 255.0)


class WarpMeter:
    """Warping error of several outputs of one reference clip, fed frame by frame.

    The input flow is computed once per frame and shared by every output, so comparing
    none/ema/flow renders costs one flow, not three.
    """

    def __init__(self, n_outputs: int, method: str = "farneback",
                 flow_side: int | None = EVAL_FLOW_SIDE) -> None:
        self.n_outputs = n_outputs
        self.flow_side = flow_side
        self.errors: list[list[float]] = [[] for _ in range(n_outputs)]
        self.skipped = 0  # frame pairs with no reliable pixel (shot changes)
        self._flow = FlowEstimator(method)
        self._prev_ref: np.ndarray | None = None
        self._prev_outs: list[np.ndarray] = []

    def update(self, ref: np.ndarray, outputs: Sequence[np.ndarray]) -> None:
        """Add frame t: the input frame and each output's frame t (uint8 RGB)."""
        if len(outputs) != self.n_outputs:
            raise ValueError(f"expected {self.n_outputs} outputs, got {len(outputs)}")
        if self._prev_ref is not None:
            motion = estimate_motion(self._flow, ref, self._prev_ref, self.flow_side)
            self._score(motion, outputs, self._prev_outs)
        self._prev_ref, self._prev_outs = ref, list(outputs)

    def _score(self, motion: Motion, outs: Sequence[np.ndarray],
               prev_outs: Sequence[np.ndarray]) -> None:
        errs = []
        for out, prev in zip(outs, prev_outs, strict=True):
            m = motion.at(out.shape[:2])
            errs.append(masked_mse(out, warp(prev, m.back), m.reliable))
        if any(e is None for e in errs):
            self.skipped += 1
            return
        for acc, e in zip(self.errors, errs, strict=True):
            acc.append(float(e))  # type: ignore[arg-type]

    @property
    def means(self) -> list[float]:
        """Per output, the warping error averaged over frame pairs (nan if none scored)."""
        return [float(np.mean(e)) if e else float("nan") for e in self.errors]


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Upright uint8 RGB frames of a video, decoded the way ``render`` decodes them."""
    from vidstyle.io.decode import decode_frames

    for frame in decode_frames(path):
        yield frame.rgb


def lockstep(ref: Iterable[np.ndarray], outs: Sequence[Iterable[np.ndarray]],
             names: Sequence[str | os.PathLike]) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """Frames of the reference and of each output together; a clip ending early is an error.

    ``names`` names the reference then each output, for the error message.
    """
    for count, frames in enumerate(zip_longest(ref, *outs)):
        if any(f is None for f in frames):
            short = [str(n) for n, f in zip(names[:len(frames)], frames, strict=True) if f is None]
            raise BadInput(describe(short[0], f"ends after {count} frames, but the other "
                                              "clip has more (eval needs equal frame counts)"))
        yield frames[0], list(frames[1:])


@dataclass
class Perceptual:
    """Mean content loss (output vs input, relu2_2) and style loss (vs the painting)."""

    content: float
    style: float
    frames: int


class PerceptualMeter:
    """Style and content losses of sampled frames under the VGG-16 loss network.

    The losses are the trainer's own (``vidstyle.train.losses``), so eval numbers are
    comparable with a pack's training log; every ``every``-th frame is scored at ``side``
    px (shorter side) to keep a long clip cheap.
    """

    def __init__(self, painting: str | Path, vgg_weights: str | Path | None,
                 every: int = 10, side: int = 256) -> None:
        import torch

        from vidstyle.models.convert import to_tensor
        from vidstyle.models.vgg import load_loss_network
        from vidstyle.train.images import read_style_image, resize_short
        from vidstyle.train.losses import gram

        self.every, self.side = every, side
        self.vgg = load_loss_network(vgg_weights)
        style = resize_short(read_style_image(painting), side)
        with torch.inference_mode():
            feats = self.vgg(to_tensor(style))
        self.targets = {k: gram(v) for k, v in feats.items()}
        self._content: list[float] = []
        self._style: list[float] = []
        self._index = 0

    def update(self, ref: np.ndarray, out: np.ndarray) -> None:
        import torch

        from vidstyle.models.convert import to_tensor
        from vidstyle.train.images import resize_short
        from vidstyle.train.losses import content_loss, style_loss

        i, self._index = self._index, self._index + 1
        if i % self.every:
            return
        small_out = resize_short(out, self.side)
        h, w = small_out.shape[:2]
        small_ref = cv2.resize(ref, (w, h), interpolation=cv2.INTER_AREA)
        with torch.inference_mode():
            f_out = self.vgg(to_tensor(small_out))
            f_ref = self.vgg(to_tensor(small_ref), ("relu2_2",))
            self._content.append(float(content_loss(f_out["relu2_2"], f_ref["relu2_2"])))
            self._style.append(float(style_loss(f_out, self.targets)))

    def result(self) -> Perceptual:
        return Perceptual(float(np.mean(self._content)), float(np.mean(self._style)),
                          len(self._content))


@dataclass
class EvalReport:
    frames: int
    warping_error: float
    skipped_pairs: int
    baseline_warping_error: float | None = None
    perceptual: Perceptual | None = None

    @property
    def reduction(self) -> float | None:
        """Fraction of the baseline's warping error removed (0.6 = 60 % less)."""
        if self.baseline_warping_error is None or not self.baseline_warping_error > 0:
            return None
        return 1.0 - self.warping_error / self.baseline_warping_error

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"frames": self.frames, "warping_error": self.warping_error,
                                "skipped_pairs": self.skipped_pairs}
        if self.baseline_warping_error is not None:
            d["baseline_warping_error"] = self.baseline_warping_error
            d["reduction"] = self.reduction
        if self.perceptual is not None:
            d["content_loss"] = self.perceptual.content
            d["style_loss"] = self.perceptual.style
            d["perceptual_frames"] = self.perceptual.frames
        return d


def evaluate_frames(reference: Iterable[np.ndarray], output: Iterable[np.ndarray],
                    baseline: Iterable[np.ndarray] | None = None,
                    perceptual: PerceptualMeter | None = None,
                    names: Sequence[str | os.PathLike] = ("reference", "output", "baseline"),
                    flow_side: int | None = EVAL_FLOW_SIDE) -> EvalReport:
    """Score ``output`` (and ``baseline``, e.g. the unsmoothed render) against ``reference``."""
    outs = [output] if baseline is None else [output, baseline]
    meter = WarpMeter(len(outs), flow_side=flow_side)
    frames = 0
    for ref, got in lockstep(reference, outs, names):
        meter.update(ref, got)
        if perceptual is not None:
            perceptual.update(ref, got[0])
        frames += 1
    if frames < 2:
        raise BadInput(describe(names[1], f"has {frames} frame(s); warping error needs two"))
    means = meter.means
    return EvalReport(frames, means[0], meter.skipped,
                      means[1] if baseline is not None else None,
                      perceptual.result() if perceptual is not None else None)


def evaluate_files(output: Path, reference: Path, baseline: Path | None = None,
                   painting: Path | None = None, vgg_weights: Path | None = None,
                   flow_side: int | None = EVAL_FLOW_SIDE) -> EvalReport:
    """``vidstyle eval``: the same as ``evaluate_frames`` on video files."""
    perceptual = PerceptualMeter(painting, vgg_weights) if painting is not None else None
    return evaluate_frames(
        read_frames(reference), read_frames(output),
        read_frames(baseline) if baseline is not None else None, perceptual,
        names=(reference, output, baseline or "baseline"), flow_side=flow_side)
