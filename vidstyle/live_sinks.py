"""Where live frames go: a window, a recording, a virtual camera (the web page: ``vidstyle.web``).

Every sink takes uint8 RGB frames; each checks at construction what it needs (a display,
an encoder, pyvirtualcam) so a missing piece fails before the camera is opened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidstyle.errors import OutputExists, UsageError, describe


class NoDisplay(UsageError):
    """No screen to open the live window on."""


class MissingExtra(UsageError):
    """An optional dependency (or its kernel device) is not installed."""


# --------------------------------------------------------------------------- recording

class Recorder:
    """An MP4 whose timestamps are capture times, so it plays back at real speed.

    Live drops frames whenever painting is slower than the camera; a fixed-rate encode
    would then play fast. Here pts = milliseconds since the first captured frame (time
    base 1/1000), so the file is variable-frame-rate and in step with the wall clock.
    Encoding is the render path's ``VideoWriter`` (explicit pts); the file is written to
    a temporary name beside the target and renamed by ``close`` — also after Ctrl-C or an
    unplugged camera, because live footage cannot be re-made (render deletes instead).
    """

    def __init__(self, path: Path, overwrite: bool = False, source: str = "",
                 crf: int = 20, preset: str = "veryfast") -> None:
        from vidstyle.io.encode import EncodeSettings, container_format
        from vidstyle.io.output import check_output, temp_name

        self.path = Path(path)
        container_format(self.path)  # an unknown extension fails now, not at the first frame
        check_output(self.path, [source] if source else [], overwrite)
        self.overwrite = overwrite
        self.tmp = temp_name(self.path)
        self.settings = EncodeSettings(crf=crf, preset=preset)
        self._writer = None  # vidstyle.io.encode.VideoWriter, opened at the first frame
        self._t0 = 0.0
        self._last_pts = -1
        self.frames = 0

    def _open(self, width: int, height: int) -> None:
        from vidstyle.io.decode import VideoInfo
        from vidstyle.io.encode import VideoWriter

        ms = Fraction(1, 1000)
        # Camera frames are full-range RGB; encode as limited-range BT.709, tagged so.
        info = VideoInfo(path=str(self.path), width=width, height=height, coded_width=width,
                         coded_height=height, rotation=0, fps=30.0, time_base=ms,
                         start_time=0.0, duration=0.0, frames=0, codec="rawvideo",
                         pix_fmt="rgb24", color_range=1, colorspace=1, color_primaries=1,
                         color_trc=1)
        self._writer = VideoWriter(self.tmp, info, self.settings, name_for_format=self.path,
                                   copy_streams=False)

    def write(self, rgb: np.ndarray, t_capture: float) -> None:
        """Encode one frame captured at monotonic time ``t_capture``."""
        from vidstyle.frames import Frame

        if self._writer is None:
            self._open(rgb.shape[1], rgb.shape[0])
            self._t0 = t_capture
        pts = max(round((t_capture - self._t0) * 1000), self._last_pts + 1)
        self._last_pts = pts
        self._writer.write(Frame(rgb, self.frames, pts, Fraction(1, 1000)))
        self.frames += 1

    def close(self) -> Path | None:
        """Flush and move into place; returns the path, or None if nothing was recorded."""
        from vidstyle.io.output import publish

        writer, self._writer = self._writer, None
        if writer is None:
            return None
        try:
            writer.close()
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        if self.path.exists() and not self.overwrite:  # appeared while we recorded
            raise OutputExists(describe(self.path, f"exists; the recording is in {self.tmp}"))
        publish(self.tmp, self.path)
        return self.path


# --------------------------------------------------------------------------- window

_NO_DISPLAY_HINT = "use --serve, --record or --virtual-cam (with --no-window)"


def display_problem() -> str | None:
    """Why an OpenCV window cannot open here, or None if it can.

    Probed in a child process because OpenCV's Qt backend aborts the whole process when
    there is no display, and the headless wheel raises only once a window is shown.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                  or os.environ.get("WAYLAND_DISPLAY")):
        return "no display available (DISPLAY is not set)"
    probe = ("import cv2, numpy; cv2.namedWindow('p'); "
             "cv2.imshow('p', numpy.zeros((8, 8, 3), numpy.uint8)); cv2.waitKey(1); "
             "cv2.destroyAllWindows()")
    try:
        res = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "no display available (the window test did not finish)"
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace")
        if "not implemented" in err or "headless" in err.lower():
            return "no display support in this OpenCV build (opencv-python-headless)"
        return "no display available (OpenCV could not open a window)"
    return None


class Window:
    """The OpenCV window: shows BGR-converted frames, returns keys, toggles fullscreen."""

    def __init__(self, title: str = "vidstyle live") -> None:
        problem = display_problem()
        if problem:
            raise NoDisplay(f"{problem}: {_NO_DISPLAY_HINT}")
        import cv2

        self._cv2 = cv2
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        self.fullscreen = False

    def show(self, bgr: np.ndarray) -> int:
        """Show a frame; returns the key pressed (-1 if none). Also pumps the GUI events."""
        self._cv2.imshow(self.title, bgr)
        return self._cv2.waitKeyEx(1)

    def poll(self) -> int:
        """Pump GUI events without a new frame; returns the key pressed (-1 if none)."""
        return self._cv2.waitKeyEx(1)

    def closed(self) -> bool:
        """True once the user closed the window with its close button."""
        try:
            return self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE) < 1
        except self._cv2.error:
            return True

    def toggle_fullscreen(self) -> None:
        cv2 = self._cv2
        self.fullscreen = not self.fullscreen
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN,
                              cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL)

    def close(self) -> None:
        try:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
        except self._cv2.error:
            pass


# --------------------------------------------------------------------------- virtual camera

_VCAM_HINT = ("pip install 'vidstyle[virtualcam]'" +
              ("; on Linux also load v4l2loopback: sudo apt install v4l2loopback-dkms && "
               "sudo modprobe v4l2loopback exclusive_caps=1"
               if sys.platform.startswith("linux") else ""))


def check_virtual_cam() -> None:
    """Fail before the camera opens if pyvirtualcam is not installed."""
    try:
        import pyvirtualcam  # noqa: F401
    except ImportError:
        raise MissingExtra(f"--virtual-cam needs pyvirtualcam: {_VCAM_HINT}") from None


class VirtualCam:
    """Sends frames to a virtual camera (v4l2loopback, OBS, Unity Capture) for call apps."""

    def __init__(self, fps: float = 30.0) -> None:
        check_virtual_cam()
        self.fps = fps
        self._cam = None
        self.device = ""

    def send(self, rgb: np.ndarray) -> None:
        if self._cam is None:
            import pyvirtualcam

            h, w = rgb.shape[:2]
            try:
                self._cam = pyvirtualcam.Camera(width=w, height=h, fps=self.fps,
                                                fmt=pyvirtualcam.PixelFormat.RGB)
            except Exception as exc:  # pyvirtualcam raises RuntimeError without a device
                raise MissingExtra(f"--virtual-cam: no virtual camera device ({exc}); "
                                   f"{_VCAM_HINT}") from None
            self.device = self._cam.device
        self._cam.send(np.ascontiguousarray(rgb))

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
            self._cam = None
