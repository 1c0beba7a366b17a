"""Encoding: streams copied, sizes made encodable, colours and timing kept, codecs by extension."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from clips import decode_all, make_clip, packet_counts, pattern
from test_decode import colour_error, first, patches

from vidstyle.io.decode import probe
from vidstyle.io.encode import container_format, encoder_options, pad_even
from vidstyle.pipeline import render_file


def render(src: Path, out: Path, **kw) -> dict:
    return render_file(str(src), out, quiet=True, warn=lambda m: None, **kw)


def audio_seconds(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(s.duration * s.time_base) if s.duration else 0.0 for s in c.streams.audio]


def test_every_audio_stream_copied_packet_for_packet(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=10, audio=["aac", "aac"])
    out = tmp_path / "out.mp4"
    result = render(src, out)
    assert result["frames"] == 10 and result["audio_streams"] == 2
    assert packet_counts(out) == packet_counts(src)
    assert audio_seconds(out) == pytest.approx(audio_seconds(src), abs=0.001)
    with av.open(str(src)) as a, av.open(str(out)) as b:  # copied, not re-encoded
        pa = [bytes(p) for p in a.demux(a.streams.audio[1]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.audio[1]) if p.size]
    assert pa == pb


def test_audio_is_interleaved_with_video(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=50, audio=["aac"])
    out = tmp_path / "out.mp4"
    render(src, out)
    with av.open(str(out)) as c:
        kinds = [p.stream.type for p in c.demux() if p.size]
    first_video = kinds.index("video")
    assert "audio" in kinds[first_video:first_video + 40]  # not all audio at the end


def test_no_audio_stays_silent(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=5)
    out = tmp_path / "out.mp4"
    render(src, out)
    assert packet_counts(out) == {"video": [5]}


def test_subtitles_and_data_copied_where_the_container_allows(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mov", n_frames=10, audio=["aac"], subtitles=True, data=True)
    mov = tmp_path / "out.mov"
    render(src, mov)
    assert packet_counts(mov) == packet_counts(src)  # mov_text and tmcd both kept
    warnings: list[str] = []
    mp4 = tmp_path / "out.mp4"
    render_file(str(src), mp4, quiet=True, warn=warnings.append)
    # The camera's start timecode survives: mp4 rebuilds its tmcd track from the tag.
    assert packet_counts(mp4) == packet_counts(src)
    with av.open(str(mp4)) as c:
        assert c.streams.video[0].metadata.get("timecode") == "01:02:03:04"
    assert not any("dropped" in w for w in warnings)


def test_subrip_dropped_from_mp4_with_a_warning(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mkv", n_frames=5, audio=["aac"], subtitles=True)
    warnings: list[str] = []
    out = tmp_path / "out.mp4"
    render_file(str(src), out, quiet=True, warn=warnings.append)
    assert "subtitle" not in packet_counts(out)
    assert any("subtitle stream" in w and "dropped" in w for w in warnings)
    mkv = tmp_path / "out.mkv"
    render(src, mkv)
    assert packet_counts(mkv)["subtitle"] == [2]


def test_webm_gets_vp9_and_audio_reencoded_to_opus(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=6, audio=["aac"])
    warnings: list[str] = []
    out = tmp_path / "out.webm"
    render_file(str(src), out, quiet=True, warn=warnings.append)
    info = probe(out)
    assert info.codec == "vp9" and info.audio == ["opus"]
    assert any("re-encoding" in w for w in warnings)
    assert audio_seconds(out)[0] == pytest.approx(audio_seconds(src)[0], abs=0.03) or \
        probe(out).duration == pytest.approx(probe(src).duration, abs=0.05)


@pytest.mark.parametrize("size", [(65, 47), (64, 38), (63, 48)])
def test_odd_sizes_padded_by_one_pixel_without_distortion(tmp_path: Path,
                                                          size: tuple[int, int]) -> None:
    w, h = size
    src = make_clip(tmp_path / "in.mkv", size=size, n_frames=3, pix_fmt="yuv444p")
    out = tmp_path / "out.mp4"
    warnings: list[str] = []
    render_file(str(src), out, quiet=True, warn=warnings.append)
    ow, oh = w + w % 2, h + h % 2
    got = first(out)
    assert got.shape == (oh, ow, 3)
    assert (any("padded" in m for m in warnings)) == (size != (ow, oh))
    # Same picture in the original area (a stretch would move the marker and ramps).
    ref = first(src)
    assert np.abs(got[:h, :w].astype(int) - ref).mean() < 4


def test_pad_even_repeats_edges() -> None:
    a = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    b = pad_even(a)
    assert b.shape == (4, 6, 3)
    assert (b[3, :5] == a[2]).all() and (b[:3, 5] == a[:, 4]).all()


@pytest.mark.parametrize("cfg", [
    {}, {"colorspace": 1}, {"colorspace": 5}, {"color_range": 2}, {"pix_fmt": "yuv444p"},
    {"color_range": 2, "colorspace": 1},
], ids=["untagged", "bt709", "bt601", "full", "444", "full709"])
def test_pass_through_keeps_colours_and_tags(tmp_path: Path, cfg: dict) -> None:
    src = make_clip(tmp_path / "in.mkv", n_frames=2, frames=[patches()] * 2, **cfg)
    out = tmp_path / "out.mp4"
    render(src, out)
    assert colour_error(first(out)) <= 5
    a, b = probe(src), probe(out)
    assert b.colorspace == a.colorspace and b.color_primaries == a.color_primaries
    assert (b.color_range == 2) == (a.color_range == 2)


def test_ten_bit_hevc_pass_through(tmp_path: Path) -> None:
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV's FFmpeg has no libx265")
    src = make_clip(tmp_path / "in.mkv", n_frames=2, frames=[patches()] * 2, codec="libx265",
                    pix_fmt="yuv420p10le", options={"x265-params": "log-level=error"})
    out = tmp_path / "out.mp4"
    render(src, out)
    assert probe(out).pix_fmt == "yuv420p" and colour_error(first(out)) <= 5


def test_timestamps_kept_for_vfr_and_a_late_start(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mkv", n_frames=12, vfr=True, start=5.0, audio=["aac"])
    out = tmp_path / "out.mkv"
    render(src, out)
    _, t_in = decode_all(src)
    _, t_out = decode_all(out)
    assert len(t_out) == 12 and t_out == pytest.approx(t_in, abs=0.002)
    assert t_out[0] == pytest.approx(5.0, abs=0.002)
    assert packet_counts(out)["audio"] == packet_counts(src)["audio"]


def test_timestamps_kept_in_mp4(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=10, vfr=True, start=5.0)
    out = tmp_path / "out.mp4"
    render(src, out)
    assert decode_all(out)[1] == pytest.approx(decode_all(src)[1], abs=0.002)


def test_codec_crf_and_preset_overrides(tmp_path: Path) -> None:
    from vidstyle.io.encode import EncodeSettings

    frames = [pattern(128, 96, i) for i in range(8)]
    src = make_clip(tmp_path / "in.mkv", size=(128, 96), n_frames=8, frames=frames)
    hi, lo = tmp_path / "hi.mp4", tmp_path / "lo.mp4"
    render(src, hi, settings=EncodeSettings(crf=5, preset="ultrafast"))
    render(src, lo, settings=EncodeSettings(crf=45, preset="ultrafast"))
    assert hi.stat().st_size > 2 * lo.stat().st_size
    if "libx265" in av.codecs_available:
        hevc = tmp_path / "h.mkv"
        render(src, hevc, settings=EncodeSettings(codec="libx265", preset="ultrafast"))
        assert probe(hevc).codec == "hevc"


def test_container_and_options_tables() -> None:
    assert container_format("a.MP4") == "mp4" and container_format("a.webm") == "webm"
    assert encoder_options("libx264", None, None) == {"crf": "18"}
    assert encoder_options("libx264", 23, "fast") == {"crf": "23", "preset": "fast"}
    assert encoder_options("libvpx-vp9", None, None)["b"] == "0"
