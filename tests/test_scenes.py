"""``vidstyle scenes``: PySceneDetect finds the cuts of a synthetic clip, the cue template it
writes switches on exactly those frames, and PySceneDetect's own CSV works as a cue file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidstyle.cli import main
from vidstyle.cues import load_cues
from vidstyle.scenes import Detection, Scene, cue_template, detect_scenes

CUTS = (20, 42)  # first frames of scenes 2 and 3 (PySceneDetect wants >= 15 frames apart)
FRAMES, FPS = 60, 25


def scene_image(scene: int, i: int) -> np.ndarray:
    """Three looks that differ in colour and texture, drifting a pixel a frame."""
    y, x = np.mgrid[0:48, 0:64]
    if scene == 0:
        img = np.stack([x * 4, y * 2, np.full_like(x, 40)], -1)
    elif scene == 1:
        check = ((x // 8 + y // 8) % 2) * 200
        img = np.stack([check, check, 255 - check], -1)
    else:
        img = np.stack([np.full_like(x, 30), 128 + 100 * np.sin(x / 5 + y / 7), y * 5], -1)
    return np.roll(img, i, axis=1).clip(0, 255).astype(np.uint8)


def write_cut_clip(path: Path) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(FRAMES):
            scene = sum(i >= c for c in CUTS)
            frame = av.VideoFrame.from_ndarray(scene_image(scene, i), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "cuts.mp4"
    write_cut_clip(path)
    return path


def frame_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def test_detects_the_known_cuts(cut_clip: Path) -> None:
    found = detect_scenes(cut_clip)
    assert [s.frame for s in found.scenes] == [0, *CUTS]
    assert [s.start for s in found.cuts] == pytest.approx([c / FPS for c in CUTS])
    assert found.fps == FPS and found.duration == pytest.approx(FRAMES / FPS)


def test_template_switches_on_the_cut_frames(cut_clip: Path, tmp_path: Path) -> None:
    text = cue_template(detect_scenes(cut_clip), ["monet", "none"], "cuts.mp4", fade=0.5)
    path = tmp_path / "cuts.cue"
    path.write_text(text)
    s = load_cues(path, None, {"fps": FPS}, validate=lambda ref: None)
    times = frame_times(cut_clip)
    slots = [s.at(t, i) for i, t in enumerate(times)]
    assert [c.mix for c in s.cues] == [{"monet": 1.0}, {}, {"monet": 1.0}]
    assert [c.fade for c in s.cues] == [0, 0.5, 0.5]
    assert slots[CUTS[0] - 1].mix == {"monet": 1.0}
    assert slots[CUTS[0] + 5].mix == pytest.approx({"monet": 0.6})  # fading out
    assert "00:00:00.800     none" in text and "# scene 2, frame 20" in text


def test_pyscenedetect_csv_is_a_cue_file(cut_clip: Path, tmp_path: Path) -> None:
    from scenedetect import ContentDetector, detect
    from scenedetect.output import write_scene_list

    scenes = detect(str(cut_clip), ContentDetector(), backend="pyav")
    csv_path = tmp_path / "cuts-Scenes.csv"
    with csv_path.open("w", newline="") as f:
        write_scene_list(f, scenes)
    s = load_cues(csv_path, None, cycle=["a", "b"], validate=lambda ref: None)
    slots = [s.at(t, i) for i, t in enumerate(frame_times(cut_clip))]
    assert [i for i, sl in enumerate(slots) if sl.cut] == [0, *CUTS]
    assert [next(iter(sl.mix)) for sl in slots[CUTS[0] - 1:CUTS[0] + 1]] == ["a", "b"]


def test_cli_writes_a_usable_template(cut_clip: Path, tmp_path: Path, style_home: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cuts.cue"
    assert main(["scenes", str(cut_clip), "-o", str(out), "--styles", "beta,alpha"]) == 0
    printed = capsys.readouterr().out
    assert "2 cuts found: 0.800 s (frame 20), 1.680 s (frame 42)" in printed
    s = load_cues(out, None)  # against the real registry
    assert s.styles == ["beta", "alpha"] and len(s.cues) == 3
    assert main(["scenes", str(cut_clip), "-o", str(out)]) == 2  # exists
    assert main(["scenes", str(cut_clip), "-o", str(out), "--overwrite",
                 "--threshold", "1000"]) == 0  # nothing is that different: one scene
    assert "0 cuts found" in capsys.readouterr().out
    assert len(load_cues(out, None).cues) == 1


@pytest.mark.parametrize(("args", "why"), [
    (["--styles", "alpha,gamma"], "--styles: unknown style 'gamma'"),
    (["--threshold", "-1"], "--threshold must be above 0"),
    (["--detector", "magic"], "--detector must be one of content, adaptive"),
])
def test_cli_errors(cut_clip: Path, tmp_path: Path, style_home: Path, args: list[str],
                    why: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenes", str(cut_clip), "-o", str(tmp_path / "x.cue"), *args]) == 2
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1
    assert not (tmp_path / "x.cue").exists()


def test_cli_missing_input(tmp_path: Path, style_home: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenes", str(tmp_path / "no.mp4"), "-o", str(tmp_path / "x.cue")]) == 2
    assert "no.mp4: no such file" in capsys.readouterr().err


def test_template_of_a_single_ntsc_scene() -> None:
    one = Detection([Scene(0.0, 0)], Fraction(30000, 1001), 2.0, "content", 27.0)
    text = cue_template(one, ["monet"], "x.mp4")
    assert "at 29.97 fps" in text and text.endswith("00:00:00.000     monet"
                                                    + " " * 27 + "# scene 1, frame 0\n")


def test_bikes_template(shared_data: Path, tmp_path: Path) -> None:
    found = detect_scenes(shared_data / "video" / "bikes.mp4")
    assert len(found.cuts) >= 2 and found.scenes[0].frame == 0
    path = tmp_path / "bikes.cue"
    path.write_text(cue_template(found, ["monet", "picasso"], "bikes.mp4"))
    s = load_cues(path, None, {"fps": found.fps, "duration": found.duration},
                  validate=lambda ref: None)
    assert not s.warnings and len(s.cues) == len(found.scenes)
