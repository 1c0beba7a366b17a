"""Warping error on synthetic clips whose stability is known by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_temporal import texture, view

from vidstyle.errors import BadInput
from vidstyle.evaluate import evaluate_frames

SHIFTS = [(2 * t, t) for t in range(6)]  # a steady pan


def clip(seed: int) -> list[np.ndarray]:
    img = texture(seed)
    return [view(img, dx, dy) for dx, dy in SHIFTS]


def flicker(frames: list[np.ndarray], amount: int, seed: int = 0) -> list[np.ndarray]:
    """Each frame's texture boils independently, as per-frame stylisation does."""
    rng = np.random.default_rng(seed)
    return [np.clip(f.astype(np.int16) + rng.integers(-amount, amount + 1, f.shape), 0, 255)
            .astype(np.uint8) for f in frames]


def test_stable_clip_scores_near_zero_and_flicker_scores_high() -> None:
    ref, painted = clip(1), clip(2)  # the painting moves exactly with the input
    stable = evaluate_frames(ref, painted).warping_error
    shaky = evaluate_frames(ref, flicker(painted, 40)).warping_error
    assert stable < 2e-4
    assert shaky > 0.01 and shaky > 30 * stable


def test_baseline_gives_the_reduction() -> None:
    ref, painted = clip(1), clip(2)
    report = evaluate_frames(ref, flicker(painted, 10), baseline=flicker(painted, 40, seed=1))
    assert report.baseline_warping_error is not None
    assert report.baseline_warping_error > report.warping_error
    assert report.reduction is not None and 0.5 < report.reduction < 1.0
    assert set(report.as_dict()) >= {"warping_error", "baseline_warping_error", "reduction"}


def test_output_of_another_size_is_compared_on_its_own_grid() -> None:
    import cv2

    ref, painted = clip(1), clip(2)
    big = [cv2.resize(f, (f.shape[1] * 2, f.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
           for f in painted]
    assert evaluate_frames(ref, big).warping_error < 5e-4


def test_unequal_frame_counts_are_bad_input() -> None:
    ref = clip(1)
    with pytest.raises(BadInput, match=r"out\.mp4: ends after 5 frames"):
        evaluate_frames(ref, ref[:5], names=("in.mp4", "out.mp4"))


def _write(path: Path, frames: list[np.ndarray]) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=10)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "rgb24"
        s.options = {"qp": "0"}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())


def test_eval_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from vidstyle.cli import main

    ref, painted = clip(1), clip(2)
    paths = [tmp_path / n for n in ("in.mp4", "out.mp4", "base.mp4")]
    for p, frames in zip(paths, (ref, painted, flicker(painted, 40)), strict=True):
        _write(p, frames)
    code = main(["eval", str(paths[1]), "--reference", str(paths[0]),
                 "--baseline", str(paths[2]), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == len(SHIFTS)
    assert out["warping_error"] < 2e-4 < out["baseline_warping_error"]
    # In words, both ways round: steadier than the baseline, or flickering more.
    assert main(["eval", str(paths[1]), "--reference", str(paths[0]),
                 "--baseline", str(paths[2])]) == 0
    assert "% lower (steadier)" in capsys.readouterr().out
    assert main(["eval", str(paths[2]), "--reference", str(paths[0]),
                 "--baseline", str(paths[1])]) == 0
    assert "% higher (OUT flickers more)" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "nope.mp4"), "--reference", str(paths[0])]) == 2
