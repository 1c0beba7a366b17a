"""The unit that flows between stages: pixels plus the timestamp they must keep.

Pixels are always ``uint8`` RGB, shape ``(H, W, 3)``, C-contiguous. That is the one
range convention at stage boundaries; only the models convert to float (see
``vidstyle.models.convert``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

# A style mix: weights over style names (one-hot for a plain style, {} for pass-through).
StyleMix = dict[str, float]


@dataclass
class Frame:
    """One video frame.

    ``pts``/``time_base`` are copied from the decoder and handed to the encoder
    unchanged so variable frame rates and non-zero starts stay in sync with audio.
    """

    rgb: np.ndarray
    index: int
    pts: int | None = None
    time_base: Fraction | None = None
    mix: StyleMix = field(default_factory=dict)
    strength: float = 1.0
    # Set when the schedule switches style abruptly here: temporal smoothing resets.
    cut: bool = False

    @property
    def time(self) -> float:
        """Presentation time in seconds (index-based if the source had no pts)."""
        if self.pts is None or self.time_base is None:
            return float(self.index)
        return float(self.pts * self.time_base)
