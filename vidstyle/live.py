"""``vidstyle live``: the latency-first loop (DESIGN §1) — always paint the newest frame.

A capture thread (``vidstyle.live_sources``) keeps only the newest frame; this module's
loop takes it, paints it (batch 1), optionally smooths it, and hands it to the sinks
(window, recording, web page, virtual camera). Each shown frame's capture-to-display
latency is measured, and frames the painter cannot keep up with are dropped, not queued.

The controls are pure: ``key_action`` maps a key to an ``Action`` and ``apply_action``
maps (state, action) to a new state, so keys and web buttons share one tested vocabulary;
effects (snapshot, recording, fullscreen) are carried out by the loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vidstyle.errors import UsageError
from vidstyle.temporal import DEFAULT_SMOOTH, make_smoother, smooth_frame

if TYPE_CHECKING:
    from vidstyle.live_sources import CaptureThread, LatestSlot

# --------------------------------------------------------------------------- controls

KEYS_HELP: list[tuple[str, str]] = [
    ("n / Right / Space", "next style"),
    ("p / Left", "previous style"),
    ("1-9", "pick a style"),
    ("+ / -", "strength up / down"),
    ("c", "split screen: before | after"),
    ("s", "snapshot to a PNG"),
    ("r", "start / stop recording"),
    ("f", "fullscreen"),
    ("h", "show / hide this help"),
    ("q / Esc", "quit"),
]

STRENGTH_STEP = 0.1

# Arrow keys as cv2.waitKeyEx reports them: X11/GTK/Qt, Windows, macOS.
_RIGHT = {65363, 2555904, 63235}
_LEFT = {65361, 2424832, 63234}


@dataclass(frozen=True)
class Action:
    """One user command, from a key or the web page. ``value``: index or strength."""

    kind: str  # next, prev, pick, strength, nudge, split, snapshot, record, fullscreen, help, quit
    value: float = 0.0


def key_action(key: int) -> Action | None:
    """The action bound to ``key`` (a ``cv2.waitKeyEx`` code), or None."""
    if key < 0:
        return None
    if key in _RIGHT:
        return Action("next")
    if key in _LEFT:
        return Action("prev")
    if key == 27:
        return Action("quit")
    ch = chr(key & 0xFF) if key < 0x110000 else ""
    if "1" <= ch <= "9":
        return Action("pick", int(ch) - 1)
    return {
        "n": Action("next"), " ": Action("next"), "p": Action("prev"),
        "+": Action("nudge", STRENGTH_STEP), "=": Action("nudge", STRENGTH_STEP),
        "-": Action("nudge", -STRENGTH_STEP), "_": Action("nudge", -STRENGTH_STEP),
        "c": Action("split"), "s": Action("snapshot"), "r": Action("record"),
        "f": Action("fullscreen"), "h": Action("help"), "q": Action("quit"),
    }.get(ch.lower() if ch.isalpha() else ch)


@dataclass(frozen=True)
class LiveState:
    """What the user controls; replaced, never mutated, by ``apply_action``."""

    styles: tuple[str, ...]
    index: int = 0
    strength: float = 1.0
    split: bool = False
    help: bool = False
    quit: bool = False

    @property
    def style(self) -> str:
        return self.styles[self.index]


def apply_action(state: LiveState, action: Action) -> LiveState:
    """The new state after ``action``; effect-only actions return ``state`` unchanged."""
    n = len(state.styles)
    replace = dataclasses.replace
    if action.kind == "next":
        return replace(state, index=(state.index + 1) % n)
    if action.kind == "prev":
        return replace(state, index=(state.index - 1) % n)
    if action.kind == "pick":
        i = int(action.value)
        return replace(state, index=i) if 0 <= i < n else state
    if action.kind == "strength":
        return replace(state, strength=_clamp01(action.value))
    if action.kind == "nudge":
        return replace(state, strength=_clamp01(round(state.strength + action.value, 2)))
    if action.kind == "split":
        return replace(state, split=not state.split)
    if action.kind == "help":
        return replace(state, help=not state.help)
    if action.kind == "quit":
        return replace(state, quit=True)
    return state


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


# --------------------------------------------------------------------------- pictures

def compose(original: np.ndarray, painted: np.ndarray, split: bool) -> np.ndarray:
    """The frame to show: the painting, or before | after halves of the same frame."""
    if not split:
        return painted
    out = painted.copy()
    half = out.shape[1] // 2
    out[:, :half] = original[:, :half]
    out[:, half: half + 1] = 255  # a thin divider so the seam is visible
    return out


def overlay(bgr: np.ndarray, lines: list[str], help_lines: list[str] | None = None,
            recording: bool = False) -> np.ndarray:
    """Draw the status lines (and the key help) on a copy of a BGR frame."""
    out = bgr.copy()
    scale = max(0.4, out.shape[0] / 720)
    step = int(24 * scale) + 4
    for i, text in enumerate(lines + (help_lines or [])):
        y = step * (i + 1)
        cv2.putText(out, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    max(3, int(4 * scale)), cv2.LINE_AA)
        cv2.putText(out, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, int(1.5 * scale)), cv2.LINE_AA)
    if recording:
        cv2.circle(out, (out.shape[1] - 20, 20), 8, (0, 0, 255), -1)
    return out


def status_lines(state: LiveState, fps: float, latency_ms: float) -> list[str]:
    return [f"{state.style}  strength {state.strength:.0%}",
            f"{fps:4.1f} fps  {latency_ms:4.0f} ms  (h: keys)"]


def help_text() -> list[str]:
    return [f"{k:<18} {v}" for k, v in KEYS_HELP]


# --------------------------------------------------------------------------- the loop

@dataclass
class LiveOptions:
    """Everything ``vidstyle live`` can be asked; the CLI fills it, tests build it directly."""

    style: str
    source: str = "0"
    size: int | None = 360
    device: str = "auto"
    precision: str = "auto"
    arch: str | None = None
    strength: float = 1.0
    smooth: str = DEFAULT_SMOOTH
    smooth_strength: float | None = None
    window: bool = True
    record: Path | None = None
    overwrite: bool = False
    duration: float | None = None
    serve: str | None = None
    virtual_cam: bool = False
    loop: bool = False
    snapshot_dir: Path = field(default_factory=Path.cwd)
    all_styles: bool = True  # cycle through every installed style, --style first
    threads: int | None = None  # torch CPU threads (None: torch's default)


@dataclass
class LiveStats:
    """What a run measured: shown frames, drops, latency per shown frame (seconds)."""

    shown: int = 0
    captured: int = 0
    dropped: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    shown_at: list[float] = field(default_factory=list)  # run-relative display times
    recordings: list[Path] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.shown / self.seconds if self.seconds > 0 else 0.0

    def latency_ms(self, q: float = 0.5) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return 1000 * xs[min(len(xs) - 1, int(q * len(xs)))]


class RateMeter:
    """Frames per second over the last second or so (what the overlay shows)."""

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, t: float) -> float:
        self._times.append(t)
        while len(self._times) > 2 and t - self._times[0] > self.window:
            self._times.popleft()
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


def style_cycle(first: str, arch: str | None, all_styles: bool) -> list[str]:
    """``first`` then every other installed style name, for next/previous and 1-9."""
    if not all_styles:
        return [first]
    from vidstyle.styles.registry import known_names

    return [first] + [n for n in known_names() if n != first]


def parse_serve(spec: str) -> tuple[str, int]:
    """``PORT``, ``:PORT`` or ``HOST:PORT`` → (host, port); loopback unless a host is named."""
    host, _, port = spec.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
    except ValueError:
        raise UsageError(f"--serve {spec!r}: expected HOST:PORT or PORT") from None
    if not 0 <= p < 65536:
        raise UsageError(f"--serve {spec!r}: port out of range")
    return host, p


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _free_name(folder: Path, stem: str, ext: str) -> Path:
    path = folder / f"{stem}{ext}"
    k = 2
    while path.exists():
        path = folder / f"{stem}-{k}{ext}"
        k += 1
    return path


def _say(msg: str) -> None:
    print(f"vidstyle: {msg}", file=sys.stderr, flush=True)


class LiveSession:
    """One run of the live loop; ``run()`` returns its stats and always cleans up.

    Order matters for the error cases: every sink that can fail for lack of something
    (display, pyvirtualcam, an existing output) is checked before the camera is opened,
    and the camera is released in ``finally`` whatever ends the run (q, --duration, end of
    file, unplugged camera, Ctrl-C); a recording in progress is finalised in all of them.
    """

    def __init__(self, opts: LiveOptions, log: Callable[[str], None] = _say) -> None:
        from vidstyle.engine import Stylizer
        from vidstyle.live_sinks import Recorder, Window, check_virtual_cam

        self.opts, self.log = opts, log
        if opts.size is not None and opts.size < 16:
            raise UsageError(f"--size {opts.size}: too small (use 240, 360, 480, ...)")
        if opts.virtual_cam:
            check_virtual_cam()
        self.window = Window() if opts.window else None
        self.recorder = (Recorder(opts.record, opts.overwrite, opts.source) if opts.record
                         else None)
        self.smoother = make_smoother(opts.smooth, opts.smooth_strength, cheap=True)
        self.stylizer = Stylizer(style_cycle(opts.style, opts.arch, opts.all_styles),
                                 device=opts.device, precision=opts.precision, arch=opts.arch)
        if opts.threads:  # after the Stylizer, which caps CPU threads at cores - 1
            import torch

            torch.set_num_threads(opts.threads)
        self.state = LiveState(tuple(self.stylizer.style_names), 0, _clamp01(opts.strength))
        self.actions: queue.SimpleQueue[tuple[Action, threading.Event]] = queue.SimpleQueue()
        self.server = None
        self.vcam = None
        self.stats = LiveStats()
        self._last = (0.0, 0.0)  # fps, latency (s) of the last shown frame
        self._cut = True  # the smoother restarts after a style change
        self._view: np.ndarray | None = None  # the last frame shown (for snapshots)

    # -- effects ------------------------------------------------------------------

    def _snapshot(self, rgb: np.ndarray) -> None:
        path = _free_name(self.opts.snapshot_dir, f"vidstyle-{self.state.style}-{_stamp()}",
                          ".png")
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.stats.snapshots.append(path)
        self.log(f"snapshot {path}")

    def _toggle_recording(self) -> None:
        from vidstyle.live_sinks import Recorder

        if self.recorder is not None:
            self._finish_recording()
            return
        path = _free_name(self.opts.snapshot_dir, f"vidstyle-live-{_stamp()}", ".mp4")
        self.recorder = Recorder(path)
        self.log(f"recording to {path}")

    def _finish_recording(self) -> None:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return
        path = rec.close()
        if path is not None:
            self.stats.recordings.append(path)
            self.log(f"recording saved: {path} ({rec.frames} frames)")

    def _do(self, action: Action) -> None:
        before = self.state
        self.state = apply_action(self.state, action)
        if action.kind == "snapshot" and self._view is not None:
            self._snapshot(self._view)
        elif action.kind == "record":
            self._toggle_recording()
        elif action.kind == "fullscreen" and self.window is not None:
            self.window.toggle_fullscreen()
        if self.state.style != before.style and self.smoother is not None:
            self._cut = True

    # -- the loop -----------------------------------------------------------------

    def run(self) -> LiveStats:
        from vidstyle.live_sources import CaptureThread, LatestSlot, open_source, processing_size

        opts = self.opts
        slot = LatestSlot()
        capture: CaptureThread | None = None
        try:
            if opts.serve is not None:
                from vidstyle.web.server import LiveServer

                host, port = parse_serve(opts.serve)
                self.server = LiveServer(host, port, self.submit, self._web_state)
                self.server.start()
                self.log(f"serving the live page on {self.server.url}")
            source = open_source(opts.source, loop=opts.loop)
            self._warm_up(processing_size(*source.frame_size(), opts.size))
            capture = CaptureThread(source, slot, opts.size)
            capture.start()
            self._loop(slot, capture)
        finally:  # q, --duration, end of file, unplugged camera, Ctrl-C: all end here
            if capture is not None:
                capture.stop()
                self.stats.captured, self.stats.dropped = capture.captured, slot.dropped
            self._close_sinks()
        if capture is not None and capture.error is not None:
            raise capture.error
        return self.stats

    def _warm_up(self, size: tuple[int, int]) -> None:
        """One throw-away frame per pack: the first call's setup time would show as latency."""
        w, h = size
        blank = np.full((1, h, w, 3), 128, np.uint8)
        seen: set[int] = set()
        for name in self.state.styles:
            pack = self.stylizer.refs[name][0]
            if pack not in seen:
                seen.add(pack)
                self.stylizer(blank, {name: 1.0})

    def _close_sinks(self) -> None:
        """Close every sink; the recording is finalised (it is the user's footage)."""
        if self.window is not None:
            with contextlib.suppress(Exception):
                self.window.close()
        if self.server is not None:
            self.server.stop()
        if self.vcam is not None:
            with contextlib.suppress(Exception):
                self.vcam.close()
        self._finish_recording()

    def _loop(self, slot: LatestSlot, capture: CaptureThread) -> None:
        opts, stats = self.opts, self.stats
        meter = RateMeter()
        fps, lat = 0.0, 0.0
        seq = 0
        start = time.monotonic()
        while not self.state.quit:
            if opts.duration is not None and time.monotonic() - start >= opts.duration:
                break
            self._drain_actions()
            got = slot.wait_newer(seq, timeout=0.05 if self.window else 0.25)
            if got is None:
                if slot.closed:
                    break  # end of a file source, or the camera is gone (capture.error)
                self._poll_window()
                continue
            seq = got.seq
            state = self.state
            painted = self._paint(got.rgb, state)
            view = self._view = compose(got.rgb, painted, state.split)
            self._deliver(view, got.t_capture)
            now = time.monotonic()
            lat = now - got.t_capture
            fps = meter.tick(now)
            stats.shown += 1
            stats.latencies.append(lat)
            stats.shown_at.append(now - start)
            self._last = (fps, lat)
            if self.window is not None:
                shown = overlay(cv2.cvtColor(view, cv2.COLOR_RGB2BGR),
                                status_lines(state, fps, lat * 1000),
                                help_text() if state.help else None,
                                recording=self.recorder is not None)
                key = self.window.show(shown)
                action = key_action(key)
                if action is not None:
                    self._do(action)
                if self.window.closed():
                    break
        stats.seconds = time.monotonic() - start

    def _paint(self, rgb: np.ndarray, state: LiveState) -> np.ndarray:
        out = self.stylizer(rgb[None], {state.style: 1.0}, state.strength)[0]
        if self.smoother is not None:
            out = smooth_frame(self.smoother, rgb, out, self._cut, state.strength > 0)
            self._cut = False
        return out

    def _deliver(self, view: np.ndarray, t_capture: float) -> None:
        if self.recorder is not None:
            self.recorder.write(view, t_capture)
        if self.server is not None:
            self.server.publish(view)
        if self.opts.virtual_cam:
            if self.vcam is None:
                from vidstyle.live_sinks import VirtualCam

                self.vcam = VirtualCam()
            self.vcam.send(view)

    def submit(self, action: Action, timeout: float = 2.0) -> dict:
        """Hand a control to the loop (from the web thread); the state once it is applied.

        The loop applies it between frames, so state changes stay on one thread; waiting
        for that lets a button press answer with the state it produced.
        """
        done = threading.Event()
        self.actions.put((action, done))
        done.wait(timeout)
        return self._web_state()

    def _drain_actions(self) -> None:
        while True:
            try:
                action, done = self.actions.get_nowait()
            except queue.Empty:
                return
            try:
                self._do(action)
            finally:
                done.set()

    def _poll_window(self) -> None:
        """Keep the window responsive (keys, close button) while waiting for a frame."""
        if self.window is None:
            return
        action = key_action(self.window.poll())
        if action is not None:
            self._do(action)
        if self.window.closed():
            self.state = apply_action(self.state, Action("quit"))

    def _web_state(self) -> dict:
        """The JSON the web page polls: styles, selection, strength, fps, latency."""
        fps, lat = self._last
        s = self.state
        return {"styles": list(s.styles), "index": s.index, "style": s.style,
                "strength": s.strength, "split": s.split, "fps": round(fps, 1),
                "latency_ms": round(lat * 1000), "recording": self.recorder is not None}


def run_live(opts: LiveOptions) -> LiveStats:
    """Run ``vidstyle live`` with ``opts`` until q, --duration, the end of a file or Ctrl-C."""
    return LiveSession(opts).run()


def summarize(stats: LiveStats) -> str:
    """One line for the end of a run."""
    if not stats.shown:
        return "no frames shown"
    med = statistics.median(stats.latencies) * 1000
    return (f"{stats.shown} frames in {stats.seconds:.1f} s ({stats.fps:.1f} fps), latency "
            f"median {med:.0f} ms, p95 {stats.latency_ms(0.95):.0f} ms, "
            f"{stats.dropped} captured frames dropped")
