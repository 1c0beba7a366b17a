"""Where live frames come from, and the capture thread that keeps only the newest one.

Live is latency-first (DESIGN §1): a frame waiting in a queue is a frame shown late, so
the capture thread overwrites a one-frame slot and the painter always takes the newest
capture. Frames the painter was too slow for are dropped and counted, never queued.

Sources: a camera (index or device path, via OpenCV) or a video file/URL (via PyAV)
played at its own frame rate, so live mode can be tested and shown without a camera.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidstyle.errors import BadInput, RuntimeFailure

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # probing absent cameras is noisy otherwise
import cv2

# Consecutive failed reads before a camera that was delivering counts as unplugged.
_UNPLUG_READS = 10
# How long a freshly opened camera may take to deliver its first frame.
_FIRST_FRAME_S = 3.0


class CameraError(BadInput):
    """No camera at that index, or the camera is busy: exit 2 (fix the command or the setup)."""


class SourceLost(RuntimeFailure):
    """The camera stopped delivering mid-run (unplugged): exit 1, after a clean stop."""


@dataclass
class Captured:
    """One captured frame and the monotonic time it was grabbed (latency is measured from it)."""

    rgb: np.ndarray
    t_capture: float
    seq: int


class LatestSlot:
    """A one-frame mailbox: ``put`` replaces, ``wait_newer`` returns only unseen frames.

    This is the whole back-pressure policy of live mode: a slow painter makes the capture
    thread overwrite frames (counted in ``dropped``) instead of growing a queue.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Captured | None = None
        self._seq = 0
        self._closed = False
        self._taken = 0  # seq of the last frame handed out
        self.dropped = 0

    def put(self, rgb: np.ndarray, t_capture: float) -> None:
        with self._cond:
            if self._item is not None and self._item.seq > self._taken:
                self.dropped += 1
            self._seq += 1
            self._item = Captured(rgb, t_capture, self._seq)
            self._cond.notify_all()

    def wait_newer(self, after: int, timeout: float) -> Captured | None:
        """The newest frame with ``seq > after``, or None on timeout or once closed and empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._item is None or self._item.seq <= after:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._cond.wait(left)
            self._taken = self._item.seq
            return self._item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


def processing_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """(w, h) with the shorter side ``size`` (never upscaled), aspect kept.

    The shorter side so ``--size 360`` means 360p for landscape and portrait sources alike.
    Odd sizes are fine: the recorder's encoder pads them to even by repeating the edge.
    """
    short = min(width, height)
    if not size or size >= short:
        return width, height
    scale = size / short
    return max(2, round(width * scale)), max(2, round(height * scale))


def fit(rgb: np.ndarray, size: int | None) -> np.ndarray:
    """Resize to the processing size (area filter: downscaling without aliasing)."""
    h, w = rgb.shape[:2]
    tw, th = processing_size(w, h, size)
    if (tw, th) == (w, h):
        return rgb
    return cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)


class Source:
    """A frame producer; ``frames()`` yields RGB until the source ends or raises."""

    name: str = "source"
    is_camera: bool = False

    def frames(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames it delivers, before ``fit``."""
        raise NotImplementedError

    def interrupt(self) -> None:
        """Ask ``frames()`` to stop soon; safe from another thread (unlike ``release``)."""

    def release(self) -> None:
        """Free the device; call from the thread that reads it; safe to call twice."""


# The OpenCV capture class; tests replace it with a fake camera.
VideoCapture: Callable[..., cv2.VideoCapture] = cv2.VideoCapture


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while probing: a missing camera makes each backend print
    a WARN/ERROR line, a dozen before our one-line answer."""
    logging = getattr(cv2, "utils", None) and getattr(cv2.utils, "logging", None)
    if logging is None:
        yield
        return
    before = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(before)


def _open_capture(spec: int | str) -> cv2.VideoCapture:
    with _quiet_opencv():
        cap = VideoCapture(spec)
    with contextlib.suppress(Exception):  # not every backend knows the property
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's queue adds latency too
    return cap


def list_cameras(max_index: int = 10) -> list[int]:
    """Indices of cameras that open and deliver a frame (for 'no camera at N' messages)."""
    if sys.platform.startswith("linux"):
        nodes = sorted(int(p.name[5:]) for p in Path("/dev").glob("video[0-9]*")
                       if p.name[5:].isdigit())
        candidates = [i for i in nodes if i < max_index] if VideoCapture is cv2.VideoCapture \
            else list(range(max_index))
    else:
        candidates = list(range(max_index))
    found = []
    for i in candidates:
        cap = _open_capture(i)
        try:
            with _quiet_opencv():
                ok = cap.isOpened() and cap.read()[0]
            if ok:
                found.append(i)
        finally:
            cap.release()
    return found


def _device_node(spec: int | str) -> str | None:
    if isinstance(spec, int):
        node = f"/dev/video{spec}"
        return node if os.path.exists(node) else None
    return spec if os.path.exists(spec) else None


class CameraSource(Source):
    """An OpenCV camera: index (``0``) or device path (``/dev/video2``)."""

    is_camera = True

    def __init__(self, spec: int | str) -> None:
        self.spec = spec
        self.name = f"camera {spec}"
        self._cap = _open_capture(spec)
        if not self._cap.isOpened():
            self._cap.release()
            raise self._why_not_open()
        ok, first = self._read_first()
        if not ok:
            self.release()
            raise CameraError(f"{self.name} opened but delivers no frames: it is probably busy "
                              "(in use by another application); close that and retry")
        self._first: np.ndarray | None = first
        self._size = (first.shape[1], first.shape[0])

    def frame_size(self) -> tuple[int, int]:
        return self._size

    def _why_not_open(self) -> CameraError:
        node = _device_node(self.spec) if sys.platform.startswith("linux") else None
        if node and VideoCapture is cv2.VideoCapture:
            return CameraError(f"{self.name} ({node}) exists but cannot be opened: busy in "
                               "another application, or not a capture device")
        if isinstance(self.spec, str):
            return CameraError(f"{self.spec}: cannot open this camera device")
        found = list_cameras()
        have = ", ".join(map(str, found)) if found else "none"
        return CameraError(f"no camera at index {self.spec}; cameras that open: {have}")

    def _read_first(self) -> tuple[bool, np.ndarray | None]:
        deadline = time.monotonic() + _FIRST_FRAME_S
        while time.monotonic() < deadline:
            ok, bgr = self._cap.read()
            if ok and bgr is not None:
                return True, bgr
            time.sleep(0.05)
        return False, None

    def frames(self) -> Iterator[np.ndarray]:
        if self._first is not None:
            first, self._first = self._first, None
            yield cv2.cvtColor(first, cv2.COLOR_BGR2RGB)
        misses = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                misses += 1
                if misses >= _UNPLUG_READS:
                    raise SourceLost(f"{self.name} stopped delivering frames (unplugged?)")
                time.sleep(0.02)
                continue
            misses = 0
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def release(self) -> None:
        self._cap.release()


class FileSource(Source):
    """A video file or URL played at its own frame rate (by its timestamps), optionally looped.

    Pacing by pts makes a file behave like a camera: frames arrive in real time whether or
    not the painter keeps up, which is what live mode and its benchmark need.
    """

    def __init__(self, path: str, loop: bool = False) -> None:
        from vidstyle.io.decode import probe

        self.path = path
        self.name = Path(path).name if "://" not in path else path
        self.loop = loop
        self.info = probe(path)  # fails early, with a one-line message, on a bad file
        self._stop = threading.Event()

    def frame_size(self) -> tuple[int, int]:
        return self.info.width, self.info.height

    def frames(self) -> Iterator[np.ndarray]:
        from vidstyle.io.decode import decode_frames

        fallback = 1.0 / (self.info.fps or 30.0)
        while True:
            start = time.monotonic()
            t0: float | None = None
            for k, frame in enumerate(decode_frames(self.path)):
                t = frame.time if frame.pts is not None else k * fallback
                t0 = t if t0 is None else t0
                delay = start + (t - t0) - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                yield frame.rgb
            if not self.loop:
                return

    def interrupt(self) -> None:
        self._stop.set()

    def release(self) -> None:
        self._stop.set()


def open_source(spec: str, loop: bool = False) -> Source:
    """``0`` → camera 0, ``/dev/videoN`` → that camera, anything else → a file or URL."""
    if spec.isdigit():
        return CameraSource(int(spec))
    if spec.startswith("/dev/video"):
        return CameraSource(spec)
    if "://" not in spec and not Path(spec).exists():
        from vidstyle.errors import InputNotFound

        raise InputNotFound(f"{spec}: no such file (and not a camera index or device)")
    return FileSource(spec, loop=loop)


class CaptureThread(threading.Thread):
    """Pulls frames off a source as fast as it delivers, resizes, and puts them in the slot.

    Resizing here, off the painter's thread, overlaps it with inference. An error (camera
    unplugged, decode failure) is kept in ``error`` for the loop to report after a clean stop.
    """

    def __init__(self, source: Source, slot: LatestSlot, size: int | None) -> None:
        super().__init__(name="vidstyle-capture", daemon=True)
        self.source, self.slot, self.size = source, slot, size
        self.error: BaseException | None = None
        self.captured = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            for rgb in self.source.frames():
                t = time.monotonic()
                if self._stop_event.is_set():
                    break
                self.slot.put(fit(rgb, self.size), t)
                self.captured += 1
        except BaseException as exc:  # reported by the loop, in the main thread
            self.error = exc
        finally:
            self.source.release()  # here, not from the main thread: never mid-read
            self.slot.close()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop capturing and make sure the device is released, even if a read hangs."""
        self._stop_event.set()
        self.source.interrupt()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
        if self.is_alive():  # a read that never returns: release from here as a last resort
            self.source.release()
