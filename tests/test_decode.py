"""Decoding: bad inputs fail with one clear error; good ones come upright, in colour, on time."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import make_clip, pattern, set_rotation

from vidstyle.errors import BadInput, InputNotFound
from vidstyle.io.decode import decode_frames, probe

COLOURS = [(200, 50, 100), (30, 180, 60), (90, 90, 220), (240, 220, 40)]


def patches(w: int = 64, h: int = 48) -> np.ndarray:
    """Four flat colour quadrants: chroma subsampling cannot blur their centres."""
    f = np.zeros((h, w, 3), np.uint8)
    for k, c in enumerate(COLOURS):
        y, x = divmod(k, 2)
        f[y * h // 2:(y + 1) * h // 2, x * w // 2:(x + 1) * w // 2] = c
    return f


def centres(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.array([rgb[(2 * y + 1) * h // 4, (2 * x + 1) * w // 4]
                     for y in range(2) for x in range(2)], int)


def colour_error(rgb: np.ndarray) -> int:
    return int(np.abs(centres(rgb) - np.array(COLOURS)).max())


def first(path: Path) -> np.ndarray:
    return next(iter(decode_frames(path))).rgb


# --- bad input -----------------------------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="no such file"):
        probe(tmp_path / "nope.mp4")


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(BadInput, match="empty file"):
        probe(tmp_path / "empty.mp4")


def test_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("this is a text file\n" * 20)
    with pytest.raises(BadInput, match=r"notes\.mp4: not a readable video"):
        list(decode_frames(tmp_path / "notes.mp4"))


def test_truncated_mp4_without_index(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", n_frames=20)
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov (index) is at the end
    with pytest.raises(BadInput, match=r"cut\.mp4"):
        probe(tmp_path / "cut.mp4")


def test_truncated_mkv_decodes_what_is_there(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mkv", n_frames=40)
    data = clip.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 2 // 3])
    n = sum(1 for _ in decode_frames(tmp_path / "cut.mkv"))
    assert 0 < n < 40


def test_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=44100)
        a.layout = "stereo"
        for s0 in range(0, 44100, 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp",
                                           layout="stereo")
            f.sample_rate, f.pts, f.time_base = 44100, s0, Fraction(1, 44100)
            out.mux(a.encode(f))
        out.mux(a.encode(None))
    with pytest.raises(BadInput, match=r"sound\.m4a: has no video stream"):
        probe(path)


def test_directory_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="directory"):
        probe(tmp_path)


# --- what comes out ------------------------------------------------------------------------

def test_probe_and_frames_of_a_plain_clip(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", size=(64, 48), n_frames=12, fps=25, audio=["aac"])
    info = probe(clip)
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 12, 25.0)
    assert info.audio == ["aac"] and info.rotation == 0
    assert info.duration == pytest.approx(12 / 25, abs=0.01)
    frames = list(decode_frames(clip))
    assert [f.index for f in frames] == list(range(12))
    assert [round(f.time * 25) for f in frames] == list(range(12))
    assert frames[0].rgb.dtype == np.uint8 and frames[0].rgb.shape == (48, 64, 3)
    assert frames[0].rgb.flags.c_contiguous
    # The picture is the one we wrote (the red marker top-left).
    assert np.abs(frames[3].rgb[2, 2].astype(int) - (230, 30, 30)).max() < 25


def test_one_frame_clip(tmp_path: Path) -> None:
    frames = list(decode_frames(make_clip(tmp_path / "one.mp4", n_frames=1)))
    assert len(frames) == 1


@pytest.mark.parametrize(("clockwise", "size", "marker"), [
    (90, (48, 64), "top-right"), (180, (64, 48), "bottom-right"), (270, (48, 64), "bottom-left"),
])
def test_rotation_side_data_makes_frames_upright(tmp_path: Path, clockwise: int,
                                                 size: tuple[int, int], marker: str) -> None:
    clip = set_rotation(make_clip(tmp_path / "r.mp4", size=(64, 48), n_frames=3), clockwise)
    info = probe(clip)
    assert (info.width, info.height) == size
    rgb = first(clip)
    assert rgb.shape[:2] == (size[1], size[0])
    h, w = rgb.shape[:2]
    corner = {"top-right": rgb[2, w - 3], "bottom-right": rgb[h - 3, w - 3],
              "bottom-left": rgb[h - 3, 2]}[marker]
    assert corner[0] > 180 and corner[1] < 90, f"red marker not at {marker}"


def test_vfr_and_late_start_timestamps_kept(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "v.mkv", n_frames=9, fps=25, vfr=True, start=5.0)
    times = [f.time for f in decode_frames(clip)]
    expected, t = [], 5.0
    for i in range(9):
        expected.append(t)
        t += (1 + i % 3) / 25
    assert times == pytest.approx(expected, abs=0.002)
    assert probe(clip).start_time == pytest.approx(5.0, abs=0.002)


@pytest.mark.parametrize("cfg", [
    {},  # untagged limited range: BT.601 as FFmpeg assumes
    {"colorspace": 1},  # BT.709
    {"colorspace": 5},  # BT.601 (470BG)
    {"color_range": 2},  # full range
    {"color_range": 2, "colorspace": 1},
    {"pix_fmt": "yuvj420p"},  # the old full-range pixel format
    {"pix_fmt": "yuv444p"},
], ids=["untagged", "bt709", "bt601", "full", "full709", "yuvj", "444"])
def test_colours_decode_correctly(tmp_path: Path, cfg: dict) -> None:
    clip = make_clip(tmp_path / "c.mkv", n_frames=2, frames=[patches()] * 2, **cfg)
    assert colour_error(first(clip)) <= 4


def test_bt709_and_bt601_really_differ_and_both_decode_right(tmp_path: Path) -> None:
    """Guard against a decoder that ignores the matrix: the YUV differs, the RGB must not."""
    a = make_clip(tmp_path / "a.mkv", n_frames=1, frames=[patches()], colorspace=1)
    b = make_clip(tmp_path / "b.mkv", n_frames=1, frames=[patches()], colorspace=5)
    ya = next(av.open(str(a)).decode(video=0)).to_ndarray(format="yuv444p")
    yb = next(av.open(str(b)).decode(video=0)).to_ndarray(format="yuv444p")
    assert np.abs(ya.astype(int) - yb).max() > 5
    assert colour_error(first(a)) <= 4 and colour_error(first(b)) <= 4


def test_ten_bit_hevc(tmp_path: Path) -> None:
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV's FFmpeg has no libx265")
    clip = make_clip(tmp_path / "h.mkv", n_frames=2, frames=[patches()] * 2, codec="libx265",
                     pix_fmt="yuv420p10le", options={"x265-params": "log-level=error"})
    assert probe(clip).pix_fmt == "yuv420p10le"
    assert colour_error(first(clip)) <= 4


@pytest.mark.parametrize("size", [(65, 47), (64, 38)])
def test_odd_sizes_decode_at_their_size(tmp_path: Path, size: tuple[int, int]) -> None:
    clip = make_clip(tmp_path / "o.mkv", size=size, n_frames=2, pix_fmt="yuv444p",
                     frames=[pattern(*size, 0)] * 2)
    assert first(clip).shape == (size[1], size[0], 3)
