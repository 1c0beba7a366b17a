"""Encode RGB frames and copy the input's other streams into one output file (DESIGN §3).

The video is re-encoded (codec chosen by the output's extension, overridable); audio,
subtitle and data streams are copied packet for packet from a second reader of the
input, interleaved by time with the video, so nothing but the picture is touched. An
audio codec the container cannot hold is re-encoded (AAC, or Opus for WebM); a subtitle
or data stream it cannot hold is dropped with a warning. Video timestamps are the
input's, so frame count, duration and audio sync match.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidstyle.errors import RuntimeFailure, UsageError, describe
from vidstyle.frames import Frame
from vidstyle.io.decode import _INTERP, VideoInfo

# Output extension -> FFmpeg muxer name.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
              ".webm": "webm"}
DEFAULT_CODEC = {"webm": "libvpx-vp9"}  # everything else: libx264
# Quality option and default per encoder: CRF-like knobs differ by name and scale.
QUALITY = {"libx264": ("crf", 18), "libx265": ("crf", 20), "libvpx-vp9": ("crf", 32),
           "libsvtav1": ("crf", 32), "h264_nvenc": ("cq", 21), "hevc_nvenc": ("cq", 23)}

# Speed presets, checked up front: a bad one otherwise fails inside avcodec_open2 with
# EINVAL and the encoder's own log line. VP9's "preset" is its cpu-used level.
_X26X = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
         "veryslow", "placebo")
PRESETS = {"libx264": _X26X, "libx265": _X26X,
           "libvpx-vp9": tuple(str(i) for i in range(-8, 9))}

Warn = Callable[[str], None]


@dataclass(frozen=True)
class EncodeSettings:
    """User overrides; ``None`` means the extension's default."""

    codec: str | None = None
    crf: int | None = None
    preset: str | None = None


def container_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise UsageError(describe(path, f"unknown output extension {suffix or '(none)'!r}; "
                                        f"use one of {', '.join(CONTAINERS)}"))
    return CONTAINERS[suffix]


def encoder_options(codec: str, crf: int | None, preset: str | None) -> dict[str, str]:
    if preset is not None and codec in PRESETS and preset not in PRESETS[codec]:
        raise UsageError(f"--preset {preset}: not a {codec} preset "
                         f"(one of {', '.join(PRESETS[codec])})")
    opts: dict[str, str] = {}
    knob = QUALITY.get(codec)
    if knob:
        opts[knob[0]] = str(knob[1] if crf is None else crf)
    if codec == "libvpx-vp9":
        # Constant quality needs b=0; cpu-used 4 + row-mt keeps VP9 from crawling.
        opts.update({"b": "0", "deadline": "good", "cpu-used": preset or "4", "row-mt": "1"})
    elif preset:
        opts["preset"] = preset
    return opts


def even_size(w: int, h: int) -> tuple[int, int]:
    """4:2:0 needs even dimensions: the size the encoder gets."""
    return w + w % 2, h + h % 2


def pad_even(rgb: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so an odd-sized frame becomes encodable, undistorted."""
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """The output container: the encoded video plus the input's other streams, copied.

    ``path`` is where bytes go (a temp file); the format comes from ``name_for_format``
    (the final name) so a temp suffix cannot change it.
    """

    def __init__(self, path: str | os.PathLike, info: VideoInfo,
                 settings: EncodeSettings | None = None, warn: Warn | None = None,
                 name_for_format: str | os.PathLike | None = None,
                 copy_streams: bool = True) -> None:
        self.path = str(path)
        self.info = info
        self.warn = warn or (lambda msg: None)
        fmt = container_format(name_for_format or path)
        self.codec = (settings.codec if settings else None) or DEFAULT_CODEC.get(fmt, "libx264")
        if self.codec not in av.codecs_available:
            raise UsageError(f"--codec {self.codec}: not available in this FFmpeg build")
        settings = settings or EncodeSettings()
        self.options = encoder_options(self.codec, settings.crf, settings.preset)
        try:
            self.out = av.open(self.path, "w", format=fmt)
        except (av.FFmpegError, OSError) as exc:
            raise UsageError(describe(name_for_format or path, f"cannot write ({exc})")
                             ) from None
        self.frames = 0
        self._padded_warned = False
        self._closed = False
        try:
            self.video = self._add_video()
            self.side = _SideStreams(self.out, info.path, self.warn) if copy_streams else None
            # The muxer opens the file lazily, at the first packet: open it now so an
            # unwritable place fails here, naming the output, not mid-render as a bare errno.
            self.out.start_encoding()
        except (av.FFmpegError, OSError) as exc:
            self._close_quietly()
            raise UsageError(describe(name_for_format or path, f"cannot write ({exc})")
                             ) from None
        except ValueError as exc:  # PyAV: "'webm' format does not support 'libx264' codec"
            self._close_quietly()
            raise UsageError(describe(name_for_format or path,
                                      f"{exc}; choose another --codec or extension")) from None
        except BaseException:
            self._close_quietly()
            raise

    def _add_video(self) -> av.VideoStream:
        info = self.info
        rate = Fraction(info.fps).limit_denominator(1001000) if info.fps else Fraction(25)
        stream = self.out.add_stream(self.codec, rate=rate)
        stream.width, stream.height = even_size(info.width, info.height)
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        cc.time_base = info.time_base
        stream.time_base = info.time_base
        # Same tags as the input, and (in write) the same matrix and range for the
        # conversion, so a pass-through lands on the input's YUV values.
        cc.color_range = 2 if info.color_range == 2 else info.color_range
        cc.colorspace = info.colorspace
        cc.color_primaries = info.color_primaries
        cc.color_trc = info.color_trc
        timecode = _timecode(info.path) if self.out.format.name in ("mov", "mp4") else None
        if timecode:
            stream.metadata["timecode"] = timecode
        stream.options = self.options
        return stream

    def write(self, frame: Frame) -> None:
        rgb = frame.rgb
        h, w = rgb.shape[:2]
        if (h % 2 or w % 2) and not self._padded_warned:
            ew, eh = even_size(w, h)
            self.warn(f"{self.info.path}: {w}x{h} is odd-sized; padded to {ew}x{eh} "
                      f"(edge pixels repeated) for 4:2:0 encoding")
            self._padded_warned = True
        vf = av.VideoFrame.from_ndarray(pad_even(rgb), format="rgb24")
        vf = vf.reformat(format="yuv420p", dst_colorspace=self.info.colorspace or None,
                         dst_color_range=2 if self.info.color_range == 2 else 1,
                         interpolation=_INTERP)
        vf.pts = frame.pts
        if frame.time_base is not None:
            vf.time_base = frame.time_base
        if self.side is not None and frame.pts is not None and frame.time_base is not None:
            self.side.mux_until(float(frame.pts * frame.time_base))
        self._mux(self.video.encode(vf))
        self.frames += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        try:
            self.out.mux(packets)
        except av.FFmpegError as exc:
            raise RuntimeFailure(describe(self.path, f"encode error ({exc})")) from None

    def close(self) -> None:
        """Flush the encoder and the remaining copied packets, then write the trailer."""
        if self._closed:
            return
        self._closed = True
        try:
            self._mux(self.video.encode(None))
            if self.side is not None:
                self.side.mux_until(float("inf"))
                self.side.flush()
        finally:
            self._close_files()

    def abort(self) -> None:
        """Stop without flushing (the caller deletes the file)."""
        if not self._closed:
            self._closed = True
            self._close_files()

    def _close_quietly(self) -> None:
        side = getattr(self, "side", None)
        for f in (side, self.out):
            with contextlib.suppress(Exception):
                if f is not None:
                    f.close()

    def _close_files(self) -> None:
        try:
            if self.side is not None:
                self.side.close()
        finally:
            try:
                self.out.close()
            except av.FFmpegError as exc:
                raise RuntimeFailure(describe(self.path, f"cannot finish ({exc})")) from None


def _timecode(src: str) -> str | None:
    """A camera's start timecode (video tag or tmcd track), which the mov muxer rewrites."""
    with contextlib.suppress(av.FFmpegError, OSError), av.open(src) as c:
        for s in c.streams:
            if "timecode" in s.metadata:
                return s.metadata["timecode"]
    return None


def _can_copy(fmt: str, stream: av.stream.Stream) -> bool:
    """Whether ``fmt`` takes ``stream`` as is: try writing a header with it, in memory.

    ``supported_codecs`` answers "maybe" for some pairs and nothing for data streams;
    a dry run with the real stream parameters is the muxer's own answer.
    """
    import io

    if stream.type == "data" and "timecode" in stream.metadata:
        return False  # a tmcd track: the muxer rebuilds it from the timecode tag instead
    with contextlib.suppress(av.FFmpegError, ValueError, TypeError):
        probe_out = av.open(io.BytesIO(), "w", format=fmt)
        try:
            probe_out.add_stream_from_template(stream)
            probe_out.start_encoding()
        finally:
            probe_out.close()
        return True
    return False


class _SideStreams:
    """Audio, subtitle and data packets of the input, copied (or re-encoded) in time order.

    A second reader of the input supplies them, so the frame pipeline carries pixels only;
    ``mux_until(t)`` writes every pending packet up to time ``t`` before a video frame.
    """

    def __init__(self, out: av.container.OutputContainer, src: str, warn: Warn) -> None:
        self.out = out
        self.inp = av.open(src, "r")
        self.map: dict[int, av.stream.Stream] = {}
        self.recode: dict[int, av.audio.stream.AudioStream] = {}
        fmt = out.format.name
        for s in self.inp.streams:
            if s.type == "video":
                continue
            name = s.codec_context.name if s.codec_context else s.type
            if s.type == "audio":
                if _can_copy(fmt, s):
                    self.map[s.index] = out.add_stream_from_template(s)
                else:
                    target = "libopus" if fmt == "webm" else "aac"
                    warn(f"{src}: audio stream #{s.index} ({name}) cannot go into "
                         f"{fmt}; re-encoding it as {target}")
                    self.recode[s.index] = self._add_recode(s, target)
            elif s.type in ("subtitle", "data") and _can_copy(fmt, s):
                self.map[s.index] = out.add_stream_from_template(s)
            elif s.type == "data" and "timecode" in s.metadata and fmt in ("mov", "mp4"):
                continue  # carried as the video's timecode tag (see VideoWriter)
            elif s.type in ("subtitle", "data", "attachment"):
                warn(f"{src}: {s.type} stream #{s.index} ({name}) cannot go into {fmt}; "
                     f"dropped")
        wanted = [self.inp.streams[i] for i in (*self.map, *self.recode)]
        self._packets: Iterator[av.Packet] = iter(self.inp.demux(wanted)) if wanted else iter(())
        self._next: av.Packet | None = None

    def _add_recode(self, s: av.audio.stream.AudioStream, codec: str
                    ) -> av.audio.stream.AudioStream:
        cc = s.codec_context
        rate = 48000 if codec == "libopus" else cc.sample_rate
        out = self.out.add_stream(codec, rate=rate)
        out.layout = cc.layout.name if cc.layout.nb_channels <= 2 or codec != "libopus" \
            else "stereo"
        return out

    def _peek(self) -> av.Packet | None:
        while self._next is None:
            try:
                pkt = next(self._packets)
            except StopIteration:
                return None
            if pkt.size == 0 and pkt.dts is None:  # demuxer's end-of-stream marker
                continue
            self._next = pkt
        return self._next

    def mux_until(self, t: float) -> None:
        while (pkt := self._peek()) is not None:
            ts = pkt.dts if pkt.dts is not None else pkt.pts
            if ts is not None and pkt.time_base is not None and float(ts * pkt.time_base) > t:
                return
            self._next = None
            self._write(pkt)

    def _write(self, pkt: av.Packet) -> None:
        idx = pkt.stream.index
        try:
            if idx in self.map:
                pkt.stream = self.map[idx]
                self.out.mux(pkt)
                return
            enc = self.recode[idx]
            for frame in pkt.decode():
                self.out.mux(enc.encode(frame))
        except av.FFmpegError as exc:
            raise RuntimeFailure(describe(self.out.name, f"cannot write stream #{idx} "
                                                         f"({exc})")) from None

    def flush(self) -> None:
        for enc in self.recode.values():
            self.out.mux(enc.encode(None))

    def close(self) -> None:
        self.inp.close()
