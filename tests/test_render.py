"""`vidstyle render` / `vidstyle image` end to end: bad outputs, interruptions, odd shapes, API.

Decode and encode details (audio copy, colours, timestamps, odd sizes at the render_file
level) live in test_decode.py and test_encode.py; these tests drive the real CLI through
``vidstyle.cli.main`` with a fixture style pack and check what lands on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from clips import decode_all, make_clip, packet_counts, pattern, set_rotation
from PIL import Image

from vidstyle.cli import main
from vidstyle.io.decode import decode_frames, probe

STYLE = "alpha"  # from the style_home fixture's pack


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def render(capsys, src: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "render", src, "-o", out, "--style", STYLE, "-q", *extra)


def error_line(err: str) -> str:
    """The CLI's whole stderr, checked to be exactly one error line and no traceback."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("vidstyle: error: "), err
    return lines[0]


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])


def luma_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |ΔY|: 4:2:0 encoding blurs the fixture style's chroma noise, not its luma."""
    return float(np.abs(luma(a) - luma(b)).mean())


def upright_frames(path: Path) -> list[np.ndarray]:
    return [f.rgb for f in decode_frames(path)]


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    """Anything in ``folder`` besides ``keep``: a temp or partial file would show up here."""
    return sorted(set(os.listdir(folder)) - keep)


def vidstyle_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vidstyle-")]


def our_threads() -> set[threading.Thread]:
    """Live threads but tqdm's monitor: any bar (even a disabled one) starts it, and it
    exits on its own ~10 s after the last bar, so it comes and goes between tests."""
    return {t for t in threading.enumerate() if t.name != "tqdm_monitor"}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "in.mp4", n_frames=10, audio=["aac"])


# --- outputs that must be refused ------------------------------------------------------

def test_existing_output_refused_then_replaced_with_overwrite(style_home, clip, tmp_path,
                                                              capsys) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious, not a video")
    before = sha256(out)
    code, _, err = render(capsys, clip, out)
    assert code == 2
    line = error_line(err)
    assert str(out) in line and "--overwrite" in line
    assert sha256(out) == before
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "vidstyle_home"}) == []

    code, _, err = render(capsys, clip, out, "--overwrite")
    assert code == 0, err
    assert sha256(out) != before
    assert len(upright_frames(out)) == 10
    assert packet_counts(out)["audio"] == packet_counts(clip)["audio"]


@pytest.mark.parametrize("where", ["missing-folder", "under-a-file", "proc"])
def test_unwritable_output_is_one_line_naming_the_file(style_home, clip, tmp_path, capsys,
                                                       where: str) -> None:
    # We may run as root, where a chmod'ed folder is still writable: use places that fail.
    out = {"missing-folder": tmp_path / "no such folder" / "out.mp4",
           "under-a-file": clip / "out.mp4",
           "proc": Path("/proc/vidstyle-test-out.mp4")}[where]
    before = sha256(clip)
    code, stdout, err = render(capsys, clip, out)
    assert code == 2  # DESIGN: bad usage/input
    assert str(out) in error_line(err)
    assert stdout == ""
    assert not out.exists() and sha256(clip) == before
    assert leftovers(tmp_path, {"in.mp4", "vidstyle_home"}) == []


def test_verbose_adds_the_traceback(style_home, clip, capsys) -> None:
    code, _, err = cli(capsys, "--verbose", "render", clip, "-o", "/proc/vidstyle-x.mp4", "-q")
    assert code == 2
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("vidstyle: error:")


def test_usage_errors_exit_2_in_one_line(clip, tmp_path, capsys) -> None:
    out = tmp_path / "o.mp4"
    cases = [
        (("render", "-o", out), "Missing argument 'IN'"),
        (("render", clip, "-o", out, "--crf", "99"), "--crf"),
        (("render", clip, "-o", out, "--strength", "1.5"), "--strength"),
        (("no-such-command",), "No such command"),
        (("render", clip, "-o", tmp_path / "o.webm", "--codec", "libx264"),
         "o.webm: 'webm' format does not support 'libx264'"),
        (("render", clip, "-o", out, "--preset", "bogus"),
         "--preset bogus: not a libx264 preset (one of ultrafast,"),
        (("render", clip, "-o", tmp_path / "o.webm", "--preset", "fast"),
         "--preset fast: not a libvpx-vp9 preset"),
    ]
    for args, says in cases:
        code, _, err = cli(capsys, *args)
        assert code == 2, (args, err)
        line = error_line(err)
        assert says in line and "unexpected" not in line, (args, line)
    assert not out.exists() and not (tmp_path / "o.webm").exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_output_equal_to_input_refused(style_home, clip, tmp_path, capsys,
                                       spelling: str) -> None:
    out = {"same": clip, "dotted": tmp_path / "." / "in.mp4",
           "symlink": tmp_path / "link.mp4"}[spelling]
    if spelling == "symlink":
        out.symlink_to(clip)
    before = sha256(clip)
    code, _, err = render(capsys, clip, out, "--overwrite")
    assert code == 2
    assert "is the input" in error_line(err)
    assert sha256(clip) == before
    assert leftovers(tmp_path, {"in.mp4", "link.mp4", "vidstyle_home"}) == []


def test_spaces_and_non_ascii_paths(style_home, tmp_path, capsys) -> None:
    folder = tmp_path / "my clips"
    folder.mkdir()
    src = make_clip(folder / "été 日本.mp4", n_frames=8, audio=["aac"])
    out = folder / "sortie peinte 絵.mp4"
    code, _, err = render(capsys, src, out)
    assert code == 0, err
    assert len(upright_frames(out)) == 8
    assert probe(out).audio == ["aac"]
    assert sorted(os.listdir(folder)) == sorted([src.name, out.name])


# --- interrupted and failed renders ------------------------------------------------------

def _paint_then(monkeypatch, after: int, action) -> list[int]:
    """Wrap the Stylizer so ``action()`` runs on its call number ``after``."""
    from vidstyle.engine import Stylizer

    real = Stylizer.__call__
    calls: list[int] = []

    def call(self, images, mixes, strength=1.0):
        calls.append(len(images))
        if len(calls) == after:
            action()
        return real(self, images, mixes, strength)

    monkeypatch.setattr(Stylizer, "__call__", call)
    return calls


def _interrupt_main() -> None:
    # What Ctrl-C does: a real SIGINT, which also wakes a main thread blocked in a wait
    # (_thread.interrupt_main only sets a flag, seen whenever the main thread next runs
    # Python code: under load the render could finish first, and the test was flaky).
    os.kill(os.getpid(), signal.SIGINT)
    threading.Event().wait(0.5)  # keep painting a little, as a real worker would


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["main-thread", "in-a-worker"])
def test_ctrl_c_mid_render_leaves_nothing(style_home, tmp_path, capsys, monkeypatch,
                                          how: str) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=40, audio=["aac"])
    out = tmp_path / "out.mp4"
    before = sha256(src)
    threads = our_threads()
    action = _interrupt_main if how == "main-thread" else _raise_keyboard_interrupt
    calls = _paint_then(monkeypatch, 5, action)
    code, _, err = render(capsys, src, out, "--batch", "1")
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err
    assert 5 <= len(calls) < 40  # it really stopped mid-way
    assert not out.exists()
    assert leftovers(tmp_path, {"in.mp4", "vidstyle_home"}) == []
    assert sha256(src) == before
    assert vidstyle_threads() == [] and our_threads() == threads


def _writer_fails_after(monkeypatch, n: int) -> None:
    from vidstyle.errors import RuntimeFailure
    from vidstyle.io.encode import VideoWriter

    real = VideoWriter.write

    def write(self, frame):
        if self.frames == n:
            raise RuntimeFailure(f"{self.path}: encode error (disk full, simulated)")
        real(self, frame)

    monkeypatch.setattr(VideoWriter, "write", write)


def _infer_fails() -> None:
    raise RuntimeError("CUDA error: an illegal memory access (simulated)")


@pytest.mark.parametrize("stage", ["infer", "encode"])
def test_failure_mid_render_leaves_nothing_and_joins_threads(style_home, tmp_path, capsys,
                                                             monkeypatch, stage: str) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=30, audio=["aac"])
    out = tmp_path / "out.mp4"
    threads = our_threads()
    if stage == "infer":
        _paint_then(monkeypatch, 4, _infer_fails)
    else:
        _writer_fails_after(monkeypatch, 6)
    code, _, err = render(capsys, src, out, "--batch", "1")
    assert code == 1  # DESIGN: runtime failure
    assert ("simulated" in error_line(err))
    assert not out.exists()
    assert leftovers(tmp_path, {"in.mp4", "vidstyle_home"}) == []
    assert vidstyle_threads() == [] and our_threads() == threads


def test_failed_overwrite_keeps_the_old_output(style_home, clip, tmp_path, capsys,
                                               monkeypatch) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous render")
    before = sha256(out)
    _writer_fails_after(monkeypatch, 3)
    code, _, _ = render(capsys, clip, out, "--overwrite", "--batch", "1")
    assert code == 1
    assert sha256(out) == before
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "vidstyle_home"}) == []


# --- shapes: one frame, odd sizes, rotations ---------------------------------------------

SHAPES = [
    pytest.param((64, 48), 1, 0, id="one-frame"),
    pytest.param((641, 359), 2, 0, id="641x359"),
    pytest.param((640, 338), 2, 0, id="640x338"),
    pytest.param((64, 48), 4, 90, id="rot90"),
    pytest.param((64, 48), 4, 180, id="rot180"),
    pytest.param((66, 48), 4, 270, id="rot270"),
]


@pytest.mark.parametrize(("size", "n", "rotation"), SHAPES)
def test_shapes_render_upright_every_frame_on_time(style_home, tmp_path, capsys,
                                                   size: tuple[int, int], n: int,
                                                   rotation: int) -> None:
    from vidstyle import stylize_image

    # Fine texture on the ramps, so a frame shifted by one pixel cannot pass for the right
    # one (the painted residual alone is smooth: the lite net filters its 2-px grid).
    rng = np.random.default_rng(1)
    frames = [np.clip(pattern(*size, i).astype(int) + rng.integers(-20, 21, (size[1], size[0], 1)),
                      0, 255).astype(np.uint8) for i in range(n)]
    src = make_clip(tmp_path / "in.mp4", size=size, n_frames=n, pix_fmt="yuv444p",
                    options={"crf": "0"}, frames=frames)
    if rotation:
        set_rotation(src, rotation)
    out = tmp_path / "out.mp4"
    code, _, err = render(capsys, src, out, "--smooth", "none", "--crf", "0")  # per-frame
    assert code == 0, err

    a, b = probe(src), probe(out)
    w, h = (size[1], size[0]) if rotation in (90, 270) else size
    assert (a.width, a.height) == (w, h)
    # Upright in the file itself: even size, no rotation left for a player to apply again.
    assert (b.width, b.height) == (w + w % 2, h + h % 2) and b.rotation == 0
    raw, t_out = decode_all(out)
    assert [f.shape for f in raw] == [(h + h % 2, w + w % 2, 3)] * n
    _, t_in = decode_all(src)
    assert len(t_out) == len(t_in) == n
    assert t_out == pytest.approx(t_in, abs=0.002)
    assert b.duration == pytest.approx(a.duration, abs=1 / a.fps + 1e-6)

    # Same picture as the API's painting of the upright input frame, and clearly not
    # the coded frame painted then turned, nor one shifted/stretched by a pixel.
    for got, frame in zip(raw, decode_frames(src), strict=True):
        want = stylize_image(frame.rgb, STYLE)
        assert luma_error(want, frame.rgb) > 5  # the style did change it
        k = rotation // 90
        wrong = np.rot90(stylize_image(np.ascontiguousarray(np.rot90(frame.rgb, -k)), STYLE),
                         k) if k else np.roll(want, 1, axis=1)
        err = luma_error(got[:h, :w], want)
        assert err < 4 and err < luma_error(got[:h, :w], wrong) / 2, err
        if w % 2:  # the pad column repeats the last one
            assert np.array_equal(got[:h, w], got[:h, w - 1]) or \
                luma_error(got[:h, w], got[:h, w - 1]) < 3


# --- --json ------------------------------------------------------------------------------

def test_json_summary(style_home, tmp_path, capsys) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=12, audio=["aac", "aac"])
    out = tmp_path / "out.mkv"
    code, stdout, err = cli(capsys, "render", src, "-o", out, "--style", STYLE, "--json")
    assert code == 0, err
    summary = json.loads(stdout)  # stdout is the JSON and nothing else
    assert summary["input"] == str(src) and summary["output"] == str(out)
    assert summary["frames"] == summary["output_frames"] == 12
    assert (summary["width"], summary["height"]) == (64, 48)
    assert summary["audio_streams"] == 2 and summary["style"] == STYLE
    assert summary["output_duration"] == pytest.approx(summary["input_duration"], abs=0.04)
    assert len(upright_frames(out)) == 12  # and it describes the real file


# --- vidstyle image ----------------------------------------------------------------------

def _photo(w: int = 40, h: int = 28) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], -1)
    rgb = rgb.astype(np.uint8)
    rgb[:6, :6] = (230, 30, 30)  # red marker top-left of the *upright* picture
    return rgb


def _exif_rotated_jpeg(path: Path, upright: np.ndarray) -> Path:
    """Store the picture turned 90° CCW with EXIF Orientation 6: viewers turn it back."""
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))
    exif = stored.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    stored.save(path, quality=98, exif=exif)
    return path


def test_image_jpeg_with_exif_orientation(style_home, tmp_path, capsys) -> None:
    from vidstyle import stylize_image

    upright = _photo()
    src = _exif_rotated_jpeg(tmp_path / "phone.jpg", upright)
    assert Image.open(src).size == (28, 40)  # stored sideways
    out = tmp_path / "painted.jpg"
    code, _, err = cli(capsys, "image", src, "-o", out, "--style", STYLE)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.size == (40, 28)  # upright input size
        assert im.getexif().get(0x0112, 1) == 1  # no orientation left to apply twice
        got = np.asarray(im.convert("RGB"), dtype=int)
    want = stylize_image(src, STYLE)
    assert want.shape == (28, 40, 3)
    assert luma_error(want, upright) > 8  # the style did change it
    sideways = np.rot90(stylize_image(np.ascontiguousarray(np.rot90(upright, 1)), STYLE), -1)
    assert luma_error(got, want) < 4 < luma_error(got, sideways)


def test_image_png_exact_and_refusals(style_home, tmp_path, capsys) -> None:
    from vidstyle import stylize_image

    src = tmp_path / "flat.png"
    Image.fromarray(_photo(33, 21)).save(src)
    out = tmp_path / "out.png"
    code, _, err = cli(capsys, "image", src, "-o", out, "--style", STYLE)
    assert code == 0, err
    got = np.asarray(Image.open(out).convert("RGB"))
    assert got.shape == (21, 33, 3)
    assert np.array_equal(got, stylize_image(src, STYLE))  # PNG: lossless, bit for bit

    before = sha256(out)
    code, _, err = cli(capsys, "image", src, "-o", out, "--style", STYLE)
    assert code == 2 and "--overwrite" in error_line(err) and sha256(out) == before
    code, _, err = cli(capsys, "image", src, "-o", src, "--style", STYLE, "--overwrite")
    assert code == 2 and "is the input" in error_line(err)
    code, _, err = cli(capsys, "image", tmp_path / "nope.png", "-o", out, "--style", STYLE)
    assert code == 2 and "nope.png" in error_line(err)


def test_image_folder_to_folder(style_home, tmp_path, capsys) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_photo(40, 28)).save(photos / "a.png")
    _exif_rotated_jpeg(photos / "b.jpg", _photo(40, 28))
    Image.fromarray(_photo(24, 30)).save(photos / "c.png")
    (photos / "notes.txt").write_text("not an image")
    out = tmp_path / "painted"
    code, stdout, err = cli(capsys, "image", photos, "-o", out, "--style", STYLE, "--json")
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["a.png", "b.jpg", "c.png"]
    sizes = {p.name: Image.open(p).size for p in out.iterdir()}
    assert sizes == {"a.png": (40, 28), "b.jpg": (40, 28), "c.png": (24, 30)}
    assert [Path(i["output"]).name for i in json.loads(stdout)["images"]] == \
        ["a.png", "b.jpg", "c.png"]


# --- Python API --------------------------------------------------------------------------

def test_python_api(style_home, clip, tmp_path) -> None:
    from vidstyle import load_style, render, stylize_image

    pack, name = load_style(STYLE)
    assert name == STYLE and STYLE in pack.names
    out = tmp_path / "api.mp4"
    result = render(clip, out, style=STYLE)
    assert result["frames"] == 10 and result["style"] == STYLE
    assert len(upright_frames(out)) == 10
    with pytest.raises(FileExistsError):  # OutputExists is also the builtin
        render(clip, out, style=STYLE)
    img = upright_frames(clip)[0]
    painted = stylize_image(img, STYLE)
    assert painted.shape == img.shape and painted.dtype == np.uint8
    assert luma_error(painted, img) > 8
    assert np.array_equal(stylize_image(img, "none"), img)


def test_import_has_no_side_effects(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "VIDSTYLE_HOME": str(tmp_path / "vh"),
           "XDG_DATA_HOME": str(home / ".local" / "share")}
    code = ("import sys, vidstyle\n"
            "from vidstyle import render, stylize_image, load_style\n"
            "print(','.join(m for m in ('torch', 'av', 'cv2') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""  # neither torch nor PyAV nor OpenCV loaded
    assert r.stderr == ""
    assert sorted(os.listdir(tmp_path)) == ["home"] and os.listdir(home) == []


def test_flow_smoothing_is_on_by_default(style_home, tmp_path, capsys) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=8, pix_fmt="yuv444p", options={"crf": "0"})
    frames = {}
    for name, extra in {"default": (), "flow": ("--smooth", "flow"),
                        "none": ("--smooth", "none")}.items():
        out = tmp_path / f"{name}.mkv"
        code, _, err = render(capsys, src, out, "--codec", "ffv1", *extra)
        assert code == 0, err
        frames[name] = np.stack(decode_all(out)[0]).astype(int)
    assert np.array_equal(frames["default"], frames["flow"])
    assert np.array_equal(frames["default"][0], frames["none"][0])  # nothing to blend yet
    assert np.abs(frames["default"][1:] - frames["none"][1:]).mean() > 0.5


def test_unpainted_frames_stay_the_source_under_smoothing(style_home, tmp_path, capsys) -> None:
    """--style none, strength 0 and a cue's 'none' span are pass-throughs even with the
    default flow smoothing: nothing painted earlier may be blended into them."""
    src = make_clip(tmp_path / "in.mp4", n_frames=10, pix_fmt="yuv444p", options={"crf": "0"})
    cues = tmp_path / "c.cue"
    cues.write_text(f"0 {STYLE}\n5f none\n")
    runs = {"none": ("--style", "none"), "zero": ("--strength", "0"), "cue": ("--cues", cues)}
    frames = {}
    for name, extra in {**runs, "plain": ("--style", "none", "--smooth", "none")}.items():
        out = tmp_path / f"{name}.mkv"
        code, _, err = render(capsys, src, out, "--codec", "ffv1", *extra)
        assert code == 0, err
        frames[name] = np.stack(decode_all(out)[0]).astype(int)
    assert np.array_equal(frames["none"], frames["plain"])
    assert np.array_equal(frames["zero"], frames["plain"])
    assert np.array_equal(frames["cue"][5:], frames["plain"][5:])
    assert np.abs(frames["cue"][:5] - frames["plain"][:5]).mean() > 5  # painted before
