"""vidstyle live: pure controls, the newest-frame slot, sources, sinks and the error cases.

Cameras are faked (``live_sources.VideoCapture`` is swapped), clips are made on the spot
and tiny, and no window is ever opened (there is no display in CI).
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest

from vidstyle import live_sources
from vidstyle.cli import main
from vidstyle.errors import UsageError
from vidstyle.live import (
    Action,
    LiveOptions,
    LiveSession,
    LiveState,
    apply_action,
    compose,
    key_action,
    overlay,
    parse_serve,
)
from vidstyle.live_sinks import MissingExtra, NoDisplay, Recorder, display_problem
from vidstyle.live_sources import CameraError, LatestSlot, SourceLost, processing_size


def make_clip(path: Path, frames: int = 30, fps: int = 30, size: tuple[int, int] = (64, 48)
              ) -> Path:
    """A small moving-gradient H.264 clip."""
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = (np.arange(w) * 4 + 8 * i) % 256
            img[..., 1] = 100
            img[h // 4: h // 2, (2 * i) % (w - 8):(2 * i) % (w - 8) + 8] = 255
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(s.encode(None))
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4")


def opts(**kw) -> LiveOptions:
    base = dict(style="alpha", size=None, window=False, threads=1, all_styles=True)
    base.update(kw)
    return LiveOptions(**base)


def video_stats(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, float(s.duration * s.time_base) if s.duration else 0.0


# --------------------------------------------------------------------------- pure parts

def test_keys_map_to_actions() -> None:
    assert key_action(-1) is None
    assert key_action(ord("q")) == Action("quit") == key_action(27)
    assert key_action(ord("n")) == Action("next") == key_action(65363)  # Right arrow (X11)
    assert key_action(ord("p")) == Action("prev") == key_action(2424832)  # Left (Windows)
    assert key_action(ord("3")) == Action("pick", 2)
    assert key_action(ord("+")).kind == "nudge" and key_action(ord("-")).value < 0
    for ch, kind in zip("csrfh", ["split", "snapshot", "record", "fullscreen", "help"],
                        strict=True):
        assert key_action(ord(ch)) == Action(kind)
    assert key_action(ord("x")) is None


def test_actions_change_state_purely() -> None:
    s = LiveState(("a", "b", "c"))
    assert apply_action(s, Action("next")).style == "b"
    assert apply_action(s, Action("prev")).style == "c"  # wraps
    assert apply_action(s, Action("pick", 2)).style == "c"
    assert apply_action(s, Action("pick", 8)) == s  # no 9th style: ignored
    assert apply_action(s, Action("nudge", 0.1)).strength == 1.0  # clamped
    assert apply_action(apply_action(s, Action("nudge", -0.1)), Action("nudge", -0.1)
                        ).strength == pytest.approx(0.8)
    assert apply_action(s, Action("strength", 0.25)).strength == 0.25
    assert apply_action(s, Action("split")).split and apply_action(s, Action("help")).help
    assert apply_action(s, Action("quit")).quit
    assert apply_action(s, Action("snapshot")) == s and s.index == 0  # effects: loop's job


def test_compose_and_overlay() -> None:
    a = np.zeros((20, 40, 3), np.uint8)
    b = np.full((20, 40, 3), 200, np.uint8)
    assert compose(a, b, False) is b
    c = compose(a, b, True)
    assert (c[:, :20] == 0).all() and (c[:, 21:] == 200).all()
    out = overlay(b, ["alpha", "10 fps"], ["q quit"], recording=True)
    assert out.shape == b.shape and not np.array_equal(out, b) and (b == 200).all()


def test_processing_size() -> None:
    assert processing_size(1920, 1080, 360) == (640, 360)
    assert processing_size(1080, 1920, 360) == (360, 640)  # portrait: shorter side
    assert processing_size(320, 240, 480) == (320, 240)  # never upscaled
    assert processing_size(1279, 721, None) == (1279, 721)  # no resize; the encoder pads
    assert processing_size(1279, 721, 360) == (639, 360)


def test_parse_serve() -> None:
    assert parse_serve("8080") == ("127.0.0.1", 8080)
    assert parse_serve(":0") == ("127.0.0.1", 0)
    assert parse_serve("0.0.0.0:9000") == ("0.0.0.0", 9000)
    with pytest.raises(UsageError):
        parse_serve("localhost:http")


def test_slot_keeps_only_the_newest_frame() -> None:
    slot = LatestSlot()
    for i in range(5):
        slot.put(np.full((2, 2, 3), i, np.uint8), float(i))
    got = slot.wait_newer(0, timeout=0.1)
    assert got is not None and got.seq == 5 and got.rgb[0, 0, 0] == 4
    assert slot.dropped == 4
    assert slot.wait_newer(5, timeout=0.01) is None  # nothing newer: no re-delivery
    slot.close()
    assert slot.wait_newer(5, timeout=1.0) is None


# --------------------------------------------------------------------------- file source

def test_file_source_records_at_real_speed(style_home: Path, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    stats = LiveSession(opts(source=str(clip), record=out), log=lambda m: None).run()
    assert stats.shown > 0 and stats.recordings == [out]
    n, dur = video_stats(out)
    assert n == stats.shown
    # 30 frames at 30 fps: timestamps come from capture time, so ~1 s, not n/30 s.
    assert 0.5 < dur < 2.0
    assert not list(tmp_path.glob(".*partial*"))


def test_cli_record_duration(style_home: Path, clip: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.mp4"
    code = main(["live", "--source", str(clip), "--style", "beta", "--no-window", "--record",
                 str(out), "--duration", "0.5", "--loop", "--size", "32", "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    assert out.exists() and "fps" in capsys.readouterr().err


def test_cli_help_lists_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "--help"]) == 0
    text = capsys.readouterr().out
    for word in ("snapshot", "fullscreen", "split screen", "--serve", "--virtual-cam"):
        assert word in text


def test_smoothing_runs(style_home: Path, clip: Path) -> None:
    stats = LiveSession(opts(source=str(clip), smooth="ema"), log=lambda m: None).run()
    assert stats.shown > 0


def test_unknown_style_lists_known(style_home: Path, clip: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["live", "--source", str(clip), "--style", "nope", "--no-window"])
    assert code == 2 and "alpha" in capsys.readouterr().err


# --------------------------------------------------------------------------- sinks

def test_no_display_says_what_to_use(monkeypatch: pytest.MonkeyPatch, style_home: Path,
                                     clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_problem() is not None
    with pytest.raises(NoDisplay, match="--serve, --record or --virtual-cam"):
        LiveSession(opts(source=str(clip), window=True))
    assert main(["live", "--source", str(clip), "--style", "alpha"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--serve" in err[0]


def test_virtual_cam_without_extra(monkeypatch: pytest.MonkeyPatch, style_home: Path,
                                   clip: Path) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pyvirtualcam", None)  # as if absent
    with pytest.raises(MissingExtra, match=r"pip install 'vidstyle\[virtualcam\]'"):
        LiveSession(opts(source=str(clip), virtual_cam=True))


def test_recorder_pts_follow_capture_time(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.mp4")
    frame = np.zeros((16, 16, 3), np.uint8)
    for t in (10.0, 10.1, 10.1, 10.5):  # a repeat must still get an increasing pts
        rec.write(frame, t)
    assert rec.close() == tmp_path / "r.mp4"
    with av.open(str(tmp_path / "r.mp4")) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    assert times == pytest.approx([0.0, 0.1, 0.101, 0.5], abs=2e-3)
    with pytest.raises(UsageError):
        Recorder(tmp_path / "r.mp4")  # exists, no overwrite


# --------------------------------------------------------------------------- cameras

class FakeCamera:
    """Stands in for cv2.VideoCapture: index 0 exists and delivers ``frames`` then fails."""

    instances: ClassVar[list[FakeCamera]] = []
    frames = 10 ** 6
    opens: ClassVar[set[int]] = {0}
    busy = False

    def __init__(self, spec: int | str) -> None:
        self.spec, self.released, self.reads = spec, False, 0
        type(self).instances.append(self)

    def isOpened(self) -> bool:
        return self.spec in self.opens

    def set(self, *a: object) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.busy or self.reads > self.frames:
            return False, None
        threading.Event().wait(0.01)
        return True, np.full((24, 32, 3), self.reads % 256, np.uint8)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def camera(monkeypatch: pytest.MonkeyPatch) -> type[FakeCamera]:
    cam = type("Cam", (FakeCamera,), {"instances": []})
    monkeypatch.setattr(live_sources, "VideoCapture", cam)
    monkeypatch.setattr(live_sources, "_FIRST_FRAME_S", 0.2)
    return cam


def test_no_camera_at_index_lists_those_that_open(camera, style_home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CameraError, match=r"no camera at index 3; cameras that open: 0"):
        live_sources.open_source("3")
    assert camera.instances and all(c.released for c in camera.instances)
    assert main(["live", "--source", "5", "--style", "alpha", "--no-window"]) == 2
    assert "cameras that open: 0" in capsys.readouterr().err


def test_busy_camera(camera) -> None:
    camera.busy = True
    with pytest.raises(CameraError, match="busy"):
        live_sources.open_source("0")
    assert camera.instances[-1].released


def test_unplugged_camera_stops_cleanly_and_keeps_recording(camera, style_home: Path,
                                                            tmp_path: Path) -> None:
    camera.frames = 15
    out = tmp_path / "unplug.mp4"
    session = LiveSession(opts(source="0", record=out), log=lambda m: None)
    with pytest.raises(SourceLost, match="unplugged"):
        session.run()
    assert camera.instances[-1].released
    assert out.exists() and video_stats(out)[0] == session.stats.shown > 0


def test_ctrl_c_releases_camera_and_finalises_recording(camera, style_home: Path,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "int.mp4"
    session = LiveSession(opts(source="0", record=out), log=lambda m: None)
    paint = session._paint
    calls = []

    def interrupted(rgb: np.ndarray, state: LiveState) -> np.ndarray:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return paint(rgb, state)

    monkeypatch.setattr(session, "_paint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        session.run()
    assert camera.instances[-1].released
    assert video_stats(out)[0] == 2


def test_frame_carries_capture_time_into_recording(tmp_path: Path) -> None:
    # The recorder's time base is milliseconds: the container keeps sub-frame precision.
    rec = Recorder(tmp_path / "tb.mp4")
    rec.write(np.zeros((8, 8, 3), np.uint8), 0.0)
    rec.close()
    with av.open(str(tmp_path / "tb.mp4")) as c:
        assert Fraction(c.streams.video[0].time_base) <= Fraction(1, 1000)
