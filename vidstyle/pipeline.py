"""Wire decode -> batch+infer -> smooth -> encode as threads joined by bounded queues (DESIGN §1).

Every stage runs in its own thread so decoding, inference and encoding overlap; the queues
are small, so a slow stage holds the others back instead of the movie piling up in RAM
(memory stays flat in video length). A worker's exception stops every stage and is
re-raised in the caller's thread; Ctrl-C does the same; threads are always joined, and the
output appears only when the whole file is written (``atomic_output``).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidstyle.frames import Frame
from vidstyle.io.decode import VideoInfo, decode_frames, probe
from vidstyle.io.encode import EncodeSettings, VideoWriter
from vidstyle.io.output import atomic_output
from vidstyle.schedule import ConstantSchedule, Schedule, assign
from vidstyle.temporal import Smoother, smooth_frame

_DONE = object()  # end-of-stream marker passed down the queues


class Painter(Protocol):
    """What inference needs: the engine's ``Stylizer`` call signature."""

    def __call__(self, images: np.ndarray, mixes: list, strength: Any) -> np.ndarray: ...


class _Stopped(Exception):
    """Raised inside a worker when another stage failed or the user interrupted."""


@dataclass
class _Run:
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    def put(self, q: queue.Queue, item: object) -> None:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def get(self, q: queue.Queue) -> Any:
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        raise _Stopped

    def worker(self, fn: Callable[[], None], name: str) -> threading.Thread:
        def body() -> None:
            try:
                fn()
            except _Stopped:
                pass
            except BaseException as exc:  # handed to the main thread
                self.errors.append(exc)
                self.stop.set()

        return threading.Thread(target=body, name=f"vidstyle-{name}", daemon=True)


def _decode_stage(run: _Run, frames: Iterable[Frame], schedule: Schedule,
                  out: queue.Queue) -> None:
    with closing(iter(frames)) as it:  # type: ignore[type-var]
        for frame in it:
            run.put(out, assign(frame, schedule))
    run.put(out, _DONE)


def _infer_stage(run: _Run, paint: Painter | None, batch: int, inq: queue.Queue,
                 out: queue.Queue) -> None:
    """Group up to ``batch`` same-sized frames, paint them in one call, pass them on in order."""
    pending: list[Frame] = []
    done = False
    while not done:
        item = run.get(inq)
        if item is _DONE:
            done = True
        elif pending and item.rgb.shape != pending[0].rgb.shape:
            _paint_batch(run, paint, pending, out)
            pending = [item]
        else:
            pending.append(item)
        if pending and (done or len(pending) >= batch):
            _paint_batch(run, paint, pending, out)
            pending = []
    run.put(out, _DONE)


def _paint_batch(run: _Run, paint: Painter | None, frames: list[Frame],
                 out: queue.Queue) -> None:
    if paint is None or all(not f.mix or f.strength == 0 for f in frames):
        painted = [f.rgb for f in frames]
    else:
        images = np.stack([f.rgb for f in frames])
        painted = list(paint(images, [f.mix for f in frames], [f.strength for f in frames]))
    for f, rgb in zip(frames, painted, strict=True):
        run.put(out, (f, rgb))


def _smooth_stage(run: _Run, smoother: Smoother, inq: queue.Queue, out: queue.Queue) -> None:
    while (item := run.get(inq)) is not _DONE:
        frame, rgb = item
        painted = bool(frame.mix) and frame.strength > 0
        run.put(out, (frame, smooth_frame(smoother, frame.rgb, rgb, frame.cut, painted)))
    run.put(out, _DONE)


def _encode_stage(run: _Run, writer: VideoWriter, inq: queue.Queue,
                  tick: Callable[[], None]) -> None:
    while (item := run.get(inq)) is not _DONE:
        frame, rgb = item
        writer.write(Frame(np.ascontiguousarray(rgb), frame.index, frame.pts, frame.time_base))
        tick()
    writer.close()


def run_stages(frames: Iterable[Frame], schedule: Schedule, writer: VideoWriter,
               paint: Painter | None = None, smoother: Smoother | None = None,
               batch: int = 1, tick: Callable[[], None] = lambda: None,
               depth: int = 4) -> None:
    """Run the pipeline to completion; re-raise the first worker error in this thread."""
    run = _Run()
    q_dec: queue.Queue = queue.Queue(maxsize=max(depth, 2 * batch))
    q_inf: queue.Queue = queue.Queue(maxsize=max(depth, 2 * batch))
    q_enc = q_inf
    threads = [
        run.worker(lambda: _decode_stage(run, frames, schedule, q_dec), "decode"),
        run.worker(lambda: _infer_stage(run, paint, max(1, batch), q_dec, q_inf), "infer"),
    ]
    if smoother is not None:
        q_enc = queue.Queue(maxsize=depth)
        threads.append(run.worker(lambda: _smooth_stage(run, smoother, q_inf, q_enc), "smooth"))
    threads.append(run.worker(lambda: _encode_stage(run, writer, q_enc, tick), "encode"))
    try:
        for t in threads:
            t.start()
        # Join with a timeout so Ctrl-C (delivered to this thread only) is seen promptly.
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.1)
            if run.stop.is_set():
                break
    except BaseException:
        run.stop.set()
        raise
    finally:
        if run.errors:
            run.stop.set()
        _join_all(threads, run)
        if run.stop.is_set():
            writer.abort()
    if run.errors:
        raise run.errors[0]


def _join_all(threads: list[threading.Thread], run: _Run) -> None:
    """Wait for every worker, whatever Ctrl-C does meanwhile.

    The whole loop sits inside the ``try``: a KeyboardInterrupt lands on any bytecode, and
    one that hit an ``is_alive()`` check outside it left a worker running after return.
    """
    pending = list(threads)
    while pending:
        try:
            for t in pending:
                t.join(timeout=0.5)
            pending = [t for t in pending if t.is_alive()]
        except KeyboardInterrupt:
            run.stop.set()  # a second Ctrl-C: still wait for the workers to exit


def make_painter(styles: list[str], device: str = "auto", precision: str = "auto",
                 max_size: int | None = None, arch: str | None = None) -> Painter | None:
    """The engine's Stylizer for ``styles``, or None when nothing needs a net (``none``)."""
    refs = [s for s in styles if s != "none"]
    if not refs:
        return None
    from vidstyle.engine import Stylizer  # torch is heavy: only when a net is needed

    return Stylizer(refs, device=device, precision=precision, max_size=max_size, arch=arch)


def default_batch_for(paint: Painter | None) -> int:
    if paint is None:
        return 8
    from vidstyle.engine import default_batch

    return default_batch(paint.device)  # type: ignore[attr-defined]


def render_file(src: str, out: str | Path, schedule: Schedule | None = None, *,
                paint: Painter | None = None, smoother: Smoother | None = None,
                batch: int | None = None, settings: EncodeSettings | None = None,
                overwrite: bool = False, quiet: bool = False,
                warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Render ``src`` to ``out`` (atomically); returns the summary ``--json`` prints."""
    from tqdm import tqdm

    schedule = schedule or ConstantSchedule("none")
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        (warn or (lambda m: tqdm.write(f"vidstyle: warning: {m}", file=sys.stderr)))(msg)

    info = probe(src)
    batch = batch or default_batch_for(paint)
    t0 = time.perf_counter()
    with atomic_output(out, [str(src)], overwrite) as tmp:
        writer = VideoWriter(tmp, info, settings or EncodeSettings(), warn=_warn,
                             name_for_format=out)
        bar = tqdm(total=info.frames or None, unit="frame", file=sys.stderr, disable=quiet,
                   dynamic_ncols=True, desc=Path(str(src)).name[:30])
        try:
            run_stages(decode_frames(src), schedule, writer, paint, smoother, batch,
                       tick=lambda: bar.update(1))
        except BaseException:
            writer.abort()
            raise
        finally:
            bar.close()
    seconds = time.perf_counter() - t0
    if info.frames and writer.frames < info.frames - max(2, info.frames // 20):
        _warn(f"{src}: input ended early: decoded {writer.frames} of about {info.frames} "
              f"frames (truncated file?)")
    from dataclasses import replace

    out_info = replace(probe(out), frames=_frames_in(out))
    return summary(info, out_info, writer.frames, seconds, str(out), warnings)


def _frames_in(path: str | Path) -> int:
    """Frames actually in the file: the container's count where it keeps one (mp4/mov),
    else its video packets, one a frame, counted without decoding (mkv/webm: probe's
    count there is a duration estimate)."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return stream.frames or sum(1 for p in c.demux(stream) if p.size)


def summary(info: VideoInfo, out_info: VideoInfo, frames: int, seconds: float, out: str,
            warnings: list[str]) -> dict[str, Any]:
    return {
        "input": info.path, "output": out, "frames": frames,
        "seconds": round(seconds, 3), "fps": round(frames / seconds, 2) if seconds else None,
        "width": out_info.width, "height": out_info.height,
        "input_frames": info.frames, "output_frames": out_info.frames,
        "input_duration": round(info.duration, 3),
        "output_duration": round(out_info.duration, 3),
        "audio_streams": len(out_info.audio), "warnings": warnings,
    }
