"""Throughput benchmark: decode-only, inference-only, encode-only and end-to-end frames/s.

DESIGN §9 asks whether the pipeline's stages overlap (end-to-end should approach the
slowest single stage) and whether memory stays flat in video length. This script answers
both on the machine it runs on, per resolution (360p, 720p), net (full, lite) and device
(the CPU, plus CUDA when there is one):

* decode  — ``vidstyle.io.decode.decode_frames`` (PyAV decode + YUV->RGB), as render uses it;
* infer   — the engine's ``Stylizer`` on decoded frames, batch as render picks it;
* encode  — ``vidstyle.io.encode.VideoWriter`` (libx264 at render's defaults);
* e2e     — ``vidstyle.pipeline.render_file``, the real threaded render path;
* peak RSS of ``vidstyle render`` (the CLI, in a subprocess) on a short clip and a 10x
  longer one: the bounded queues should keep it flat.

Input clips are made on the spot from ``samples/sample.mp4`` (looped, scaled with PyAV,
video only) in a temp folder. The repo ships a trained *lite* pack only; the *full* net's
pack is an untrained one made here, which is fine because speed does not depend on the
weights. Each inference measurement is time-boxed (``--budget`` seconds) and the
end-to-end clip is sized from it, so slow combinations (full net, 720p, CPU) stay quick.

    .venv/bin/python benchmarks/throughput.py [--sizes 360 720] [--nets lite full]
        [--budget 6] [--json out.json]

On a shared machine wrap it in a lock that keeps other jobs off the CPU while it runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidstyle.frames import Frame  # noqa: E402
from vidstyle.io.decode import decode_frames, probe  # noqa: E402
from vidstyle.io.encode import VideoWriter  # noqa: E402

SAMPLE = ROOT / "samples" / "sample.mp4"
LITE_PACK = ROOT / "vidstyle" / "styles" / "builtin" / "lite.safetensors"
SIZES = {240: (426, 240), 360: (640, 360), 480: (854, 480), 720: (1280, 720),
         1080: (1920, 1080)}
FPS = 25


@dataclass
class Row:
    """One (device, net, size) line of the table; fps per stage, None where not run."""

    device: str
    net: str
    size: int
    threads: int
    decode_fps: float = 0.0
    infer_fps: float = 0.0
    encode_fps: float = 0.0
    e2e_fps: float = 0.0
    e2e_frames: int = 0
    infer_frames: int = 0

    @property
    def slowest(self) -> float:
        return min(self.decode_fps, self.infer_fps, self.encode_fps)

    @property
    def ratio(self) -> float:
        return self.e2e_fps / self.slowest if self.slowest else float("nan")


@dataclass
class Report:
    machine: dict[str, str | int]
    rows: list[Row] = field(default_factory=list)
    rss: dict[str, float | int | str] = field(default_factory=dict)


# --------------------------------------------------------------------------- inputs

def source_frames(size: tuple[int, int]) -> Iterator[np.ndarray]:
    """The sample clip's frames scaled to ``size`` (w, h), looped for ever."""
    w, h = size
    while True:
        with av.open(str(SAMPLE)) as c:
            for f in c.decode(video=0):
                yield f.reformat(width=w, height=h, format="rgb24").to_ndarray()


def make_clip(folder: Path, size_p: int, frames: int) -> Path:
    """An H.264 clip of ``frames`` frames at ``size_p`` (cached in ``folder``)."""
    path = folder / f"clip-{size_p}p-{frames}.mp4"
    if path.exists():
        return path
    w, h = SIZES[size_p]
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"preset": "veryfast", "crf": "20"}
        src = source_frames((w, h))
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(next(src), format="rgb24").reformat(
                format="yuv420p")
            vf.pts, vf.time_base = i, Fraction(1, FPS)
            out.mux(st.encode(vf))
        out.mux(st.encode(None))
    return path


def full_pack(folder: Path) -> Path:
    """An untrained full-net pack (tests/conftest.py's recipe): speed ignores the weights."""
    from vidstyle.models.transform import build_net
    from vidstyle.styles.pack import StylePack, save_pack

    path = folder / "full-untrained.safetensors"
    net = build_net("full", 1)
    styles = [{"name": "bench", "title": "Bench", "artist": "none", "year": "2026",
               "file": "bench.jpg", "sha256": "0" * 64}]
    save_pack(StylePack(path=path, arch="full", styles=styles, net=net), path)
    return path


def style_ref(net: str, folder: Path) -> str:
    if net == "lite":
        from vidstyle.styles.pack import load_pack

        return f"{load_pack(LITE_PACK).names[0]}@{LITE_PACK}"
    return f"bench@{full_pack(folder)}"


# --------------------------------------------------------------------------- stages

def time_decode(clip: Path) -> tuple[float, list[np.ndarray]]:
    """Frames/s of decode_frames over the whole clip, and the decoded frames."""
    t = time.perf_counter()
    frames = [f.rgb for f in decode_frames(clip)]
    return len(frames) / (time.perf_counter() - t), frames


def time_encode(clip: Path, frames: list[np.ndarray], folder: Path) -> float:
    """Frames/s of VideoWriter (render's encoder defaults) writing ``frames``."""
    info = probe(clip)
    tb = info.time_base
    step = round(1 / (FPS * tb)) if tb else 1
    out = folder / "encode-only.mp4"
    t = time.perf_counter()
    writer = VideoWriter(out, info)
    for i, rgb in enumerate(frames):
        writer.write(Frame(rgb, i, i * step, tb))
    writer.close()
    return len(frames) / (time.perf_counter() - t)


def time_infer(paint: object, ref: str, frames: list[np.ndarray], batch: int,
               budget: float) -> tuple[float, int]:
    """Frames/s of the Stylizer, after one warm-up batch, until ``budget`` s or frames run out.

    Time-boxed because one full-net 720p frame takes seconds on a CPU.
    """
    paint(np.stack(frames[:batch]), [{ref: 1.0}] * batch, 1.0)  # type: ignore[operator]
    done, t0 = 0, time.perf_counter()
    while done + batch <= len(frames):
        paint(np.stack(frames[done:done + batch]), [{ref: 1.0}] * batch, 1.0)  # type: ignore[operator]
        done += batch
        if time.perf_counter() - t0 >= budget and done >= 2 * batch:
            break
    return done / (time.perf_counter() - t0), done


def time_e2e(clip: Path, ref: str, paint: object, folder: Path) -> tuple[float, int]:
    """Frames/s of render_file (decode, infer, encode threads), as render_file reports it."""
    from vidstyle.pipeline import render_file
    from vidstyle.schedule import ConstantSchedule

    res = render_file(str(clip), folder / "e2e.mp4", ConstantSchedule(ref),
                      paint=paint, overwrite=True, quiet=True)  # type: ignore[arg-type]
    return float(res["fps"]), int(res["frames"])


# Runs in a small interpreter between this process and the render: a child's ru_maxrss
# starts from the RSS of the process it was forked from (Linux carries the old mm's
# high-water mark across exec), so forking the render from this torch-laden process would
# report our own peak, not the render's.
_WAIT4 = r"""
import json, os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = p.stdout.read(), p.stderr.read()
_, status, usage = os.wait4(p.pid, 0)
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss,
                  "stdout": out.decode(), "stderr": err.decode()[-500:]}))
"""


def peak_rss(clip: Path, ref: str, device: str, folder: Path) -> tuple[int, float]:
    """Peak RSS (KiB) and fps of ``vidstyle render`` on ``clip``, in its own process.

    The render is reaped with ``os.wait4``, which returns that one child's rusage
    (RUSAGE_CHILDREN would keep the max of every child so far, hiding a smaller run).
    """
    cmd = [sys.executable, "-m", "vidstyle", "render", str(clip), "--style", ref,
           "--device", device, "-o", str(folder / "rss.mp4"), "--overwrite", "--quiet",
           "--json"]
    proc = subprocess.run([sys.executable, "-c", _WAIT4, *cmd], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    res = json.loads(proc.stdout)
    if res["rc"]:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res['stderr']}")
    return int(res["maxrss_kib"]), float(json.loads(res["stdout"])["fps"])


# --------------------------------------------------------------------------- report

def machine_info(threads: int) -> dict[str, str | int]:
    import torch

    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout
        except OSError:
            return ""

    model = next((ln.split(":", 1)[1].strip() for ln in sh("lscpu").splitlines()
                  if ln.startswith("Model name")), platform.processor() or platform.machine())
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": model, "cores": os.cpu_count() or 0, "torch_threads": threads,
            "torch": torch.__version__, "pyav": av.__version__, "gpu": gpu,
            "commit": sh("git", "rev-parse", "--short", "HEAD").strip(),
            "date": datetime.date.today().isoformat()}


def table(rep: Report) -> str:
    lines = ["| device | net | size | threads | decode fps | infer fps | encode fps "
             "| end-to-end fps | e2e / slowest stage | target >= 0.9 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rep.rows:
        ok = "yes" if r.ratio >= 0.9 else "**no**"
        lines.append(f"| {r.device} | {r.net} | {r.size}p | {r.threads} | {r.decode_fps:.1f} "
                     f"| {r.infer_fps:.2f} | {r.encode_fps:.1f} | {r.e2e_fps:.2f} "
                     f"({r.e2e_frames} frames) | {r.ratio:.2f} | {ok} |")
    if rep.rss:
        s = rep.rss
        ok = "yes" if float(s["ratio"]) < 1.1 else "**no**"
        lines += ["", "| peak RSS, `vidstyle render` | frames | peak RSS MiB | fps |",
                  "|---|---|---|---|",
                  f"| {s['what']}, short | {s['short_frames']} "
                  f"| {int(s['short_kib']) / 1024:.0f} | {s['short_fps']} |",
                  f"| {s['what']}, 10x longer | {s['long_frames']} "
                  f"| {int(s['long_kib']) / 1024:.0f} | {s['long_fps']} |",
                  f"| long / short | | {float(s['ratio']):.3f} (target < 1.1: {ok}) | |"]
    return "\n".join(lines)


def devices(choice: str) -> list[str]:
    import torch

    if choice != "auto":
        return [choice]
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[360, 720], choices=sorted(SIZES))
    ap.add_argument("--nets", nargs="+", default=["lite", "full"], choices=["lite", "full"])
    ap.add_argument("--device", default="auto",
                    help="auto (the CPU, and CUDA when available), cpu, cuda")
    ap.add_argument("--budget", type=float, default=6.0,
                    help="seconds per inference measurement; sizes the end-to-end clip")
    ap.add_argument("--io-seconds", type=float, default=3.0,
                    help="clip length for decode-only / encode-only")
    ap.add_argument("--threads", type=int, default=None,
                    help="override torch CPU threads (default: the engine's choice)")
    ap.add_argument("--rss-frames", type=int, default=12,
                    help="short clip for the RSS check (360p, lite); the long one is 10x")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from vidstyle.pipeline import default_batch_for, make_painter

    with tempfile.TemporaryDirectory(prefix="vidstyle-bench-") as tmp:
        folder = Path(tmp)
        refs = {net: style_ref(net, folder) for net in args.nets}
        rep: Report | None = None
        for dev in devices(args.device):
            for net in args.nets:
                paint = make_painter([refs[net]], device=dev, arch=net)
                if args.threads:
                    torch.set_num_threads(args.threads)
                threads = torch.get_num_threads()
                if rep is None:
                    rep = Report(machine_info(threads))
                batch = default_batch_for(paint)
                for size in args.sizes:
                    io_clip = make_clip(folder, size, max(8, round(args.io_seconds * FPS)))
                    row = Row(dev, net, size, threads if dev == "cpu" else 0)
                    row.decode_fps, frames = time_decode(io_clip)
                    row.encode_fps = time_encode(io_clip, frames, folder)
                    row.infer_fps, row.infer_frames = time_infer(paint, refs[net], frames,
                                                                 batch, args.budget)
                    n = int(min(len(frames), max(2 * batch, 4,
                                                 round(row.infer_fps * args.budget))))
                    row.e2e_fps, row.e2e_frames = time_e2e(make_clip(folder, size, n),
                                                           refs[net], paint, folder)
                    rep.rows.append(row)
                    print(f"{dev} {net} {size}p: decode {row.decode_fps:.1f}, infer "
                          f"{row.infer_fps:.2f} ({row.infer_frames} frames), encode "
                          f"{row.encode_fps:.1f}, end-to-end {row.e2e_fps:.2f} "
                          f"({row.e2e_frames} frames) fps", file=sys.stderr, flush=True)
                del paint
        assert rep is not None
        if not args.no_rss:
            ref = refs.get("lite") or style_ref("lite", folder)
            dev = devices(args.device)[0]
            short = make_clip(folder, 360, args.rss_frames)
            long = make_clip(folder, 360, 10 * args.rss_frames)
            s_kib, s_fps = peak_rss(short, ref, dev, folder)
            l_kib, l_fps = peak_rss(long, ref, dev, folder)
            rep.rss = {"what": f"360p lite {dev}", "short_frames": args.rss_frames,
                       "long_frames": 10 * args.rss_frames, "short_kib": s_kib,
                       "long_kib": l_kib, "short_fps": s_fps, "long_fps": l_fps,
                       "ratio": l_kib / s_kib}
            print(f"peak RSS {s_kib / 1024:.0f} MiB ({args.rss_frames} frames) vs "
                  f"{l_kib / 1024:.0f} MiB ({10 * args.rss_frames} frames)",
                  file=sys.stderr, flush=True)
    m = rep.machine
    print(f"\n{m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} "
          f"CPU threads), PyAV {m['pyav']}, GPU {m['gpu']}, commit {m['commit']}, {m['date']}\n")
    print(table(rep))
    if args.json:
        args.json.write_text(json.dumps({"machine": rep.machine,
                                         "rows": [asdict(r) | {"ratio": r.ratio}
                                                  for r in rep.rows],
                                         "rss": rep.rss}, indent=1))


if __name__ == "__main__":
    main()
