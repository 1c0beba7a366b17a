"""Shot detection with PySceneDetect, and the cue template it turns into.

Detection uses the library (not its CLI) through its PyAV backend, so it decodes the
same way the renderer does. A scene's start is taken as PySceneDetect 0.7 reports it:
PTS-based seconds relative to the first frame (right on variable-frame-rate clips) plus
its frame number. The template writes those times to the millisecond, which the cue
parser's half-millisecond tolerance maps back onto the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidstyle.cues import format_time
from vidstyle.errors import BadInput, InputNotFound, UsageError
from vidstyle.io.output import atomic_output

DETECTORS = ("content", "adaptive")


@dataclass(frozen=True)
class Scene:
    """Where a shot begins: seconds from the first frame, and its frame number."""

    start: float
    frame: int


@dataclass(frozen=True)
class Detection:
    scenes: list[Scene]
    fps: float
    duration: float
    detector: str
    threshold: float

    @property
    def cuts(self) -> list[Scene]:
        """The scene changes: every scene start but the first."""
        return self.scenes[1:]


def make_detector(kind: str, threshold: float | None, min_scene_len: int):
    """ContentDetector (HSV frame difference against a fixed threshold, default 27) or
    AdaptiveDetector (the same score against its rolling average, default ratio 3; better
    on fast camera motion)."""
    from scenedetect import AdaptiveDetector, ContentDetector

    if kind == "content":
        t = 27.0 if threshold is None else threshold
        return ContentDetector(threshold=t, min_scene_len=min_scene_len), t
    if kind == "adaptive":
        t = 3.0 if threshold is None else threshold
        return AdaptiveDetector(adaptive_threshold=t, min_scene_len=min_scene_len), t
    raise UsageError(f"--detector must be one of {', '.join(DETECTORS)}, not {kind!r}")


def detect_scenes(path: str | Path, detector: str = "content", threshold: float | None = None,
                  min_scene_len: int = 15) -> Detection:
    """Find the shots of a video. ``min_scene_len`` is in frames (PySceneDetect's rule:
    no two cuts closer than that)."""
    from scenedetect import SceneManager, VideoOpenFailure, open_video

    if not Path(path).is_file():
        raise InputNotFound(f"{path}: no such file")
    if threshold is not None and threshold <= 0:
        raise UsageError(f"--threshold must be above 0, not {threshold}")
    det, used = make_detector(detector, threshold, min_scene_len)
    try:
        video = open_video(str(path), backend="pyav")
    except (VideoOpenFailure, OSError) as exc:
        raise BadInput(f"{path}: cannot open the video ({exc})") from None
    manager = SceneManager()
    manager.add_detector(det)
    frames = manager.detect_scenes(video=video)
    if frames == 0:
        raise BadInput(f"{path}: no video frames could be decoded")
    fps = float(video.frame_rate)
    found = manager.get_scene_list(start_in_scene=True)
    scenes = [Scene(float(start.seconds), start.frame_num) for start, _ in found]
    if not scenes or scenes[0].frame > 0:
        scenes.insert(0, Scene(0.0, 0))
    duration = float(found[-1][1].seconds) if found else frames / fps
    return Detection(scenes, fps, duration, detector, used)


def cue_template(detection: Detection, styles: Sequence[str], source: str,
                 fade: float = 0.0) -> str:
    """A cue file with one cue per scene, ``styles`` taking turns; ready to edit."""
    n = len(detection.scenes)
    lines = [
        f"# vidstyle cue file for {source}, written by `vidstyle scenes`.",
        f"# {n} scene{'s' * (n != 1)} found by PySceneDetect ({detection.detector} detector, "
        f"threshold {detection.threshold:g}); {detection.duration:.3f} s at "
        f"{float(detection.fps):.6g} fps.",
        "# Edit freely: TIME STYLE [fade=SECONDS] [strength=0..1]; a style may be a mix",
        "# (monet:0.7+picasso:0.3) or none. Times may also be frame numbers (1520f).",
        "",
        f"# {'time':<14} {'style':<20} {'options':<10} # scene, first frame",
    ]
    for i, scene in enumerate(detection.scenes):
        opts = f"fade={fade:g}" if fade > 0 and i > 0 else ""
        lines.append(f"{format_time(scene.start):<16} {styles[i % len(styles)]:<20} "
                     f"{opts:<10} # scene {i + 1}, frame {scene.frame}")
    return "\n".join(lines) + "\n"


def write_text(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write atomically (temporary file beside it, then rename): no half-written cue file."""
    out = Path(path)
    with atomic_output(out, [], overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out
