"""Decode a file or URL into upright RGB ``Frame``s with their own timestamps (DESIGN §3).

Colour is converted with the matrix and range the stream is tagged with (swscale's
defaults would read a full-range or BT.709 stream as limited BT.601 and shift colours),
rotation side data is applied so a phone clip comes out upright, and pts are passed
through untouched so variable frame rates and non-zero starts stay in sync with audio.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidstyle.errors import BadInput, InputNotFound, RuntimeFailure, describe
from vidstyle.frames import Frame

# Accurate rounding keeps a decode -> encode round trip within a level or two. On the way
# back to RGB, swscale's fast unscaled YUV->RGB path ignores ACCURATE_RND and darkens every
# pixel by 2-3 levels a generation; FULL_CHR_H_INT forces the exact path (~4 ms a 720p frame).
_Interp = av.video.reformatter.Interpolation
_INTERP = _Interp.BILINEAR | _Interp.ACCURATE_RND
_DECODE_INTERP = _INTERP | _Interp.FULL_CHR_H_INT


def is_url(src: str | os.PathLike) -> bool:
    return "://" in str(src)


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline, the encoder and the cue parser need to know about the input."""

    path: str
    width: int  # as displayed (after rotation)
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # degrees counter-clockwise applied to decoded frames
    fps: float  # average frame rate (0 if unknown)
    time_base: Fraction
    start_time: float  # seconds of the first video timestamp
    duration: float  # seconds of the video stream (0 if unknown)
    frames: int  # frame count from the container (estimated from duration if absent)
    codec: str
    pix_fmt: str
    color_range: int
    colorspace: int
    color_primaries: int
    color_trc: int
    audio: list[str] = field(default_factory=list)  # codec name per audio stream
    subtitles: int = 0
    data: int = 0


def open_input(src: str | os.PathLike) -> av.container.InputContainer:
    """Open ``src`` or raise a one-line error that says what is wrong with it."""
    name = str(src)
    if not is_url(name):
        path = Path(name)
        if not path.exists():
            raise InputNotFound(describe(name, "no such file"))
        if path.is_dir():
            raise BadInput(describe(name, "is a directory, not a video"))
        if path.stat().st_size == 0:
            raise BadInput(describe(name, "empty file (0 bytes)"))
    try:
        container = av.open(name, "r", timeout=30 if is_url(name) else None)
    except av.FFmpegError as exc:
        raise BadInput(describe(name, f"not a readable video ({_why(exc)})")) from None
    if not container.streams.video:
        container.close()
        raise BadInput(describe(name, "has no video stream"))
    return container


def _why(exc: av.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _rotation_of(container: av.container.InputContainer) -> int:
    """Display rotation (CCW degrees, multiple of 90) from the first frame's side data."""
    try:
        for frame in container.decode(video=0):
            return _snap_rotation(frame.rotation)
    except av.FFmpegError:
        return 0
    return 0


def _snap_rotation(deg: float) -> int:
    return round(deg / 90.0) * 90 % 360


def probe(src: str | os.PathLike) -> VideoInfo:
    """Stream facts without decoding the whole file (one frame, for the rotation)."""
    with open_input(src) as container:
        vs = container.streams.video[0]
        cc = vs.codec_context
        tb = vs.time_base or Fraction(1, 1000)
        fps = float(vs.average_rate or vs.guessed_rate or 0)
        start = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        if vs.duration:
            duration = float(vs.duration * tb)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        frames = vs.frames or (round(duration * fps) if duration and fps else 0)
        info = dict(
            path=str(src), coded_width=cc.width, coded_height=cc.height, fps=fps,
            time_base=Fraction(tb), start_time=start, duration=duration, frames=frames,
            codec=cc.name, pix_fmt=cc.pix_fmt or "", color_range=int(cc.color_range or 0),
            colorspace=int(cc.colorspace or 2), color_primaries=int(cc.color_primaries or 2),
            color_trc=int(cc.color_trc or 2),
            audio=[a.codec_context.name for a in container.streams.audio],
            subtitles=len(container.streams.subtitles),
            data=len(container.streams.data),
        )
        rotation = _rotation_of(container)
    w, h = info["coded_width"], info["coded_height"]
    if rotation in (90, 270):
        w, h = h, w
    return VideoInfo(width=w, height=h, rotation=rotation, **info)


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Any pixel format / bit depth / range / matrix -> upright uint8 RGB (H, W, 3)."""
    rgb = frame.reformat(
        format="rgb24",
        src_colorspace=frame.colorspace or None,
        src_color_range=_range_of(frame),
        dst_color_range="JPEG",
        interpolation=_DECODE_INTERP,
    ).to_ndarray()
    k = _snap_rotation(frame.rotation) // 90
    if k:
        rgb = np.rot90(rgb, k)
    return np.ascontiguousarray(rgb)


def _range_of(frame: av.VideoFrame) -> int:
    """The frame's range; the deprecated ``yuvj*`` formats mean full range when untagged."""
    if frame.color_range:
        return int(frame.color_range)
    return 2 if frame.format.name.startswith("yuvj") else 1


def decode_frames(src: str | os.PathLike) -> Iterator[Frame]:
    """Every video frame of ``src`` in presentation order, pts and time base as decoded."""
    name = str(src)
    with open_input(src) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = Fraction(stream.time_base) if stream.time_base else None
        index = 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    pts = frame.pts if frame.pts is not None else frame.dts
                    yield Frame(to_rgb(frame), index, pts, tb)
                    index += 1
        except av.FFmpegError as exc:
            raise RuntimeFailure(describe(name, f"decode error after frame {index} "
                                                f"({_why(exc)})")) from None
    if index == 0:
        raise BadInput(describe(name, "no decodable video frames (corrupt or truncated?)"))
