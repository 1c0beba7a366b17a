"""Make ``samples/sample.mp4``: the project's own demo clip (6 s, 640x360, 25 fps, H.264+AAC).

Four shots from scikit-image's public-domain/CC0 sample photos (astronaut: NASA; coffee:
Rachel Michetti, CC0; chelsea: Stefan van der Walt, CC0; rocket: SpaceX, CC0),
each with a slow pan/zoom and joined by hard cuts (so smoothing and cue tests
see real cuts), over a synthesised sound: one chord per shot with a click on each cut.

    python samples/make_sample.py [OUT]
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

W, H, FPS, SECONDS, RATE = 640, 360, 25, 6.0, 48000
# (photo, start box, end box) with boxes as (cx, cy, zoom) in the photo's own units.
SHOTS = [
    ("astronaut", (0.50, 0.40, 1.00), (0.45, 0.30, 1.60)),
    ("coffee", (0.35, 0.50, 1.10), (0.65, 0.50, 1.10)),
    ("chelsea", (0.50, 0.45, 1.50), (0.50, 0.50, 1.00)),
    ("rocket", (0.50, 0.80, 1.40), (0.50, 0.35, 1.40)),
]
CHORDS = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6),
          (146.8, 185.0, 220.0)]


def crop(photo: np.ndarray, cx: float, cy: float, zoom: float) -> np.ndarray:
    """A 16:9 window of ``photo`` centred at (cx, cy), 1/zoom of the largest that fits."""
    ph, pw = photo.shape[:2]
    ww = min(pw, ph * W / H) / zoom
    wh = ww * H / W
    x0 = np.clip(cx * pw - ww / 2, 0, pw - ww)
    y0 = np.clip(cy * ph - wh / 2, 0, ph - wh)
    # Sub-pixel window via an affine warp: a smooth pan with no 1-px judder.
    m = np.array([[ww / W, 0, x0], [0, wh / H, y0]], dtype=np.float64)
    return cv2.warpAffine(photo, m, (W, H), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def frames() -> list[np.ndarray]:
    per_shot = int(SECONDS * FPS) // len(SHOTS)
    out = []
    for name, a, b in SHOTS:
        photo = getattr(data, name)()
        if photo.ndim == 2:
            photo = np.repeat(photo[..., None], 3, axis=2)
        photo = np.ascontiguousarray(photo[..., :3])
        for i in range(per_shot):
            t = i / (per_shot - 1)
            t = t * t * (3 - 2 * t)  # ease in and out
            box = [p + (q - p) * t for p, q in zip(a, b, strict=True)]
            out.append(crop(photo, *box))
    return out


def sound() -> np.ndarray:
    """Stereo float32 (2, N): a soft chord per shot, a click at each cut."""
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE
    shot_len = n // len(CHORDS)
    audio = np.zeros(n)
    for k, chord in enumerate(CHORDS):
        s = slice(k * shot_len, (k + 1) * shot_len)
        env = np.minimum(1, np.minimum(t[s] - t[s][0], t[s][-1] - t[s]) * 20)
        audio[s] = sum(np.sin(2 * np.pi * f * t[s]) for f in chord) / len(chord) * env * 0.3
        audio[k * shot_len:k * shot_len + 200] += np.hanning(200) * 0.5
    pan = 0.5 + 0.3 * np.sin(2 * np.pi * t / SECONDS)
    return np.stack([audio * (1 - pan), audio * pan]).astype(np.float32)


def write(path: Path) -> None:
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.codec_context.colorspace = vs.codec_context.color_primaries = 1  # BT.709
        vs.codec_context.color_trc, vs.codec_context.color_range = 1, 1
        vs.options = {"crf": "23", "preset": "slow"}
        aus = out.add_stream("aac", rate=RATE)
        aus.layout = "stereo"
        for i, rgb in enumerate(frames()):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        pcm = sound()
        for s0 in range(0, pcm.shape[1], 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, s0:s0 + 1024]),
                                            format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, s0, Fraction(1, RATE)
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("sample.mp4")
    write(target)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
