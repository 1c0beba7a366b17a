"""Regenerate the README's pictures from the shipped sample and the built-in styles.

    .venv/bin/python scripts/make_readme_images.py

docs/demo.jpg   a before/after still of the sample clip with `picasso` (what `make demo` makes)
docs/styles.jpg every built-in style on one frame of the sample clip
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidstyle.engine import Stylizer
from vidstyle.styles.registry import available_styles
from vidstyle.styles.sheet import SAMPLE, first_frame, make_sheet

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    frame = first_frame(SAMPLE)
    after = Stylizer(["picasso"])(frame[None], {"picasso": 1.0})[0]
    pair = np.concatenate([frame, np.full((frame.shape[0], 8, 3), 255, np.uint8), after], 1)
    cv2.imwrite(str(DOCS / "demo.jpg"), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    names = list(dict.fromkeys(i.name for i in available_styles() if i.origin == "built-in"))
    sheet = make_sheet(frame, names, width=256, cols=5)
    cv2.imwrite(str(DOCS / "styles.jpg"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 82])
    print("wrote docs/demo.jpg and docs/styles.jpg")


if __name__ == "__main__":
    main()
