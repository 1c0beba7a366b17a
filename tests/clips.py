"""Tiny synthetic clips made with PyAV, for decode/encode/render tests.

Each frame has a known content (a colour ramp plus a moving white square and a frame
number encoded in the top-left block's brightness) so tests can check sizes, order,
orientation and colour on the decoded pixels.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern(w: int, h: int, i: int) -> np.ndarray:
    """Frame ``i``: smooth colour ramps, a red marker top-left, a square that moves."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)),
                    np.full_like(x, (40 + 20 * i) % 256)], axis=-1).astype(np.uint8)
    s = max(2, min(w, h) // 6)
    rgb[:s, :s] = (230, 30, 30)  # orientation marker: top-left, red
    ox = (i * 3) % max(1, w - s)
    rgb[h - s:, ox:ox + s] = 255
    return rgb


def make_clip(path: Path, size: tuple[int, int] = (64, 48), n_frames: int = 10, fps: int = 25,
              codec: str = "libx264", pix_fmt: str = "yuv420p", audio: list[str] | None = None,
              audio_seconds: float | None = None, start: float = 0.0,
              vfr: bool = False, color_range: int | None = None,
              colorspace: int | None = None, subtitles: bool = False, data: bool = False,
              frames: list[np.ndarray] | None = None, options: dict | None = None) -> Path:
    """Write a clip. ``audio``: one codec name per audio stream (e.g. ["aac", "aac"]).

    ``vfr`` gives frames uneven durations (1, 2, 3 ticks of 1/fps alternating);
    ``start`` shifts every timestamp (video and audio) by that many seconds.
    """
    w, h = size
    tb = Fraction(1, fps * 6)
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.codec_context.time_base = tb
        if color_range is not None:
            vs.codec_context.color_range = color_range
        if colorspace is not None:
            vs.codec_context.colorspace = colorspace
            vs.codec_context.color_primaries = colorspace
            vs.codec_context.color_trc = colorspace
        vs.options = {"preset": "ultrafast", **(options or {})} if codec.startswith("libx26") \
            else dict(options or {})
        astreams = [_add_audio(out, name) for name in (audio or [])]
        sub = _add_subtitles(out) if subtitles else None
        if data:  # the mov muxer adds a timecode (tmcd) data track, as cameras do
            vs.metadata["timecode"] = "01:02:03:04"
        t = start
        for i in range(n_frames):
            rgb = frames[i] if frames is not None else pattern(w, h, i)
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace=colorspace or None,
                dst_color_range=color_range or None)
            vf.pts = round(t / tb)
            vf.time_base = tb
            out.mux(vs.encode(vf))
            t += (1 + i % 3) / fps if vfr else 1 / fps
        out.mux(vs.encode(None))
        seconds = audio_seconds if audio_seconds is not None else n_frames / fps
        for k, a in enumerate(astreams):
            _write_tone(out, a, seconds, start, 220 * (k + 1))
        if sub is not None:
            _write_subtitles(out, sub, start)
    return path


def _add_audio(out: av.container.OutputContainer, codec: str) -> av.audio.stream.AudioStream:
    a = out.add_stream(codec, rate=48000 if codec in ("libopus", "opus") else 44100)
    a.layout = "stereo"
    return a


def _write_tone(out, stream, seconds: float, start: float, hz: float) -> None:
    rate = stream.codec_context.sample_rate
    n = int(seconds * rate)
    chunk = 1024
    for s0 in range(0, n, chunk):
        t = (np.arange(s0, min(n, s0 + chunk)) / rate).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        af.sample_rate = rate
        af.pts = s0 + round(start * rate)
        af.time_base = Fraction(1, rate)
        out.mux(stream.encode(af))
    out.mux(stream.encode(None))


def _add_subtitles(out: av.container.OutputContainer):
    name = "mov_text" if out.format.name.startswith("mov") or "mp4" in out.format.name \
        else "subrip"
    return out.add_mux_stream(name)


def _write_subtitles(out, stream, start: float) -> None:
    for i, text in enumerate(["hello", "world"]):
        body = text.encode()
        if stream.codec_context is None or stream.codec_context.name == "mov_text":
            body = struct.pack(">H", len(body)) + body
        p = av.Packet(body)
        p.stream, p.time_base = stream, Fraction(1, 1000)
        p.pts = p.dts = round((start + i * 0.2) * 1000)
        p.duration = 200
        out.mux(p)


def set_rotation(path: Path, degrees: int) -> Path:
    """Patch the video track's tkhd matrix in place so players rotate it by ``degrees``.

    Matrices as Apple writes them (a, b, c, d in 16.16): 90 is the iPhone portrait one.
    """
    m = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}[degrees]
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")  # first track is the video
    if at < 0:
        raise ValueError("no tkhd atom")
    version = data[at + 4]
    matrix = at + 4 + (4 + (32 if version == 1 else 20) + 8 + 8)
    a, b, c, d = (v * 0x10000 for v in m)
    struct.pack_into(">9i", data, matrix, a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


def decode_all(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame (rgb24 as FFmpeg decodes it, no rotation) and its time in seconds."""
    frames, times = [], []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.pts * f.time_base))
    return frames, times


def packet_counts(path: Path) -> dict[str, list[int]]:
    """Packets per stream, grouped by type, in stream order."""
    out: dict[str, list[int]] = {}
    with av.open(str(path)) as c:
        counts = {s.index: 0 for s in c.streams}
        for p in c.demux():
            if p.size:
                counts[p.stream.index] += 1
        for s in c.streams:
            out.setdefault(s.type, []).append(counts[s.index])
    return out
