"""Contact sheets: every installed style painted on one frame, labelled, in a grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidstyle.errors import UsageError, describe

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample.mp4"


def first_frame(path: Path, at: float = 0.4) -> np.ndarray:
    """An RGB still from an image, or from a video at ``at`` of its length."""
    from vidstyle.train.images import IMAGE_SUFFIXES, read_rgb

    if path.suffix.lower() in IMAGE_SUFFIXES:
        return read_rgb(path)
    import av

    if not path.is_file():
        raise UsageError(describe(path, "no such file"))
    try:
        with av.open(str(path)) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    except av.FFmpegError as exc:
        raise UsageError(describe(path, f"cannot decode ({exc})")) from None
    if not frames:
        raise UsageError(describe(path, "no video frames"))
    return frames[int(len(frames) * at)]


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    tile = tile.copy()
    cv2.rectangle(tile, (0, tile.shape[0] - 22), (tile.shape[1], tile.shape[0]), (0, 0, 0), -1)
    cv2.putText(tile, text, (6, tile.shape[0] - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def make_sheet(rgb: np.ndarray, refs: list[str], width: int = 320, cols: int = 5,
               arch: str | None = None) -> np.ndarray:
    """Original plus one tile per style, ``cols`` per row."""
    import cv2

    from vidstyle.engine import Stylizer

    h = round(rgb.shape[0] * width / rgb.shape[1])
    small = cv2.resize(rgb, (width, h), interpolation=cv2.INTER_AREA)
    stylizer = Stylizer(refs, arch=arch)
    tiles = [_label(small, "original")]
    for ref in refs:
        tiles.append(_label(stylizer(small[None], {ref: 1.0})[0], ref))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(small))
    rows = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, axis=0)


def write_sheet(out: Path, frame: Path | None, width: int = 320, arch: str | None = None,
                overwrite: bool = False) -> Path:
    import cv2

    from vidstyle.io.output import atomic_output, check_output
    from vidstyle.styles.registry import available_styles

    check_output(out, [], overwrite)  # before painting every style
    infos = available_styles()
    if not infos:
        raise UsageError("no styles installed to draw")
    arch_pick = arch or ("lite" if any(i.arch == "lite" for i in infos) else infos[0].arch)
    refs = list(dict.fromkeys(i.name for i in infos if i.arch == arch_pick))
    sheet = make_sheet(first_frame(frame or SAMPLE), refs, width=width, arch=arch_pick)
    # The temp name keeps the extension last, so OpenCV picks the format from it.
    with atomic_output(out, [], overwrite) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 85]):
            raise UsageError(describe(out, "cannot write the sheet (unknown extension or "
                                           "unwritable folder)"))
    return out
