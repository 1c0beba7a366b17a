"""What style each frame gets: the contract between the cue parser and the pipeline.

The pipeline asks the schedule about every decoded frame by its own timestamp (so a
variable-frame-rate clip switches on the right frame) and stores the answer on the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vidstyle.frames import Frame, StyleMix


@dataclass(frozen=True)
class Slot:
    """A frame's assignment: its style mix, its strength, and whether a hard cut starts here
    (temporal smoothing must not carry the previous frame across it)."""

    mix: StyleMix
    strength: float = 1.0
    cut: bool = False


class Schedule(Protocol):
    @property
    def styles(self) -> list[str]:
        """Every style reference the schedule may name (loaded before decoding starts)."""
        ...

    def at(self, time: float, index: int) -> Slot:
        """The slot for the frame shown at ``time`` seconds, ``index``-th in decode order."""
        ...


@dataclass(frozen=True)
class ConstantSchedule:
    """One style (or ``none``) for the whole video: what ``--style`` alone means."""

    style: str
    strength: float = 1.0

    @property
    def styles(self) -> list[str]:
        return [] if self.style == "none" else [self.style]

    def at(self, time: float, index: int) -> Slot:
        return Slot({} if self.style == "none" else {self.style: 1.0}, self.strength)


def assign(frame: Frame, schedule: Schedule) -> Frame:
    slot = schedule.at(frame.time, frame.index)
    frame.mix, frame.strength, frame.cut = slot.mix, slot.strength, slot.cut
    return frame
