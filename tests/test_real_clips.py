"""Every real clip in ../shared/data/video through `vidstyle render --style picasso` (slow).

The clips (see SOURCES.md there) include a rotated one, an odd QCIF size and 5.1 audio.
Each output must decode to the end, be upright as the input is displayed, keep every
frame and every audio stream (codec, channel layout, rate), and last as long as the input.
Run with ``pytest -m slow tests/test_real_clips.py``; skipped where ../shared is absent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import pytest
from conftest import SHARED_DATA

from vidstyle.cli import main
from vidstyle.io.decode import probe

pytestmark = pytest.mark.slow

CLIPS = sorted(p.name for p in (SHARED_DATA / "video").glob("*.mp4")) \
    if (SHARED_DATA / "video").is_dir() else ["(none)"]


def video_facts(path: Path) -> dict:
    """Decode every video frame (so the file must play to its end) and read the streams."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(vs)]
    with av.open(str(path)) as c:
        audio = [(a.codec_context.name, a.codec_context.layout.name,
                  a.codec_context.channels, a.codec_context.sample_rate,
                  float(a.duration * a.time_base) if a.duration else None)
                 for a in c.streams.audio]
    return {"frames": len(times), "first": times[0], "last": times[-1], "audio": audio}


@pytest.mark.parametrize("name", CLIPS)
def test_real_clip_renders_whole_upright_with_its_audio(shared_data: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture,
                                                        name: str) -> None:
    src = shared_data / "video" / name
    out = tmp_path / f"{src.stem}-picasso.mp4"
    t0 = time.perf_counter()
    code = main(["render", str(src), "-o", str(out), "--style", "picasso", "--max-size", "160",
                 "--json"])
    seconds = time.perf_counter() - t0
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)

    a, b = probe(src), probe(out)
    fa, fb = video_facts(src), video_facts(out)
    frame = 1 / a.fps

    # Upright: the output is stored as the input is displayed, with no rotation left over.
    assert (b.width, b.height) == (a.width + a.width % 2, a.height + a.height % 2)
    assert b.rotation == 0
    assert (b.width > b.height) == (a.width > a.height)
    # Every frame, on time.
    assert fb["frames"] == fa["frames"] == summary["frames"]
    assert fb["first"] == pytest.approx(fa["first"], abs=0.002)
    assert fb["last"] == pytest.approx(fa["last"], abs=0.002)
    assert b.duration == pytest.approx(a.duration, abs=min(frame, 0.05) + 1e-6)
    # Every audio stream: codec, layout, channels, rate, duration.
    assert [x[:4] for x in fb["audio"]] == [x[:4] for x in fa["audio"]]
    for (*_, da), (*_, db) in zip(fa["audio"], fb["audio"], strict=True):
        assert db == pytest.approx(da, abs=0.05)
    assert summary["audio_streams"] == len(fa["audio"])

    print(f"\n{name}: {a.width}x{a.height} rot {a.rotation} -> {b.width}x{b.height}; "
          f"frames {fa['frames']} -> {fb['frames']}; video {a.duration:.3f} -> "
          f"{b.duration:.3f} s; audio {[x[1] for x in fa['audio']]} -> "
          f"{[x[1] for x in fb['audio']]} "
          f"({[x[4] for x in fa['audio']]} -> {[x[4] for x in fb['audio']]} s); "
          f"{seconds:.1f} s ({summary['fps']} fps)")
