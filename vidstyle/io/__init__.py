"""Reading and writing video (DESIGN §3): PyAV decode, encode with stream copy, atomic output."""

from vidstyle.io.decode import VideoInfo, decode_frames, probe
from vidstyle.io.encode import EncodeSettings, VideoWriter
from vidstyle.io.output import atomic_output

__all__ = ["EncodeSettings", "VideoInfo", "VideoWriter", "atomic_output", "decode_frames",
           "probe"]
