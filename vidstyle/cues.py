"""Cue files -> a schedule of style mixes over time (DESIGN §5).

A cue file is plain text, one cue per line, ``#`` comments and blank lines ignored::

    # time          style                        options
    00:00:00.000    monet
    00:00:12.500    picasso                      fade=1.5
    00:01:03        none                         # pass-through
    1520f           starry-night:0.7+wave:0.3    strength=0.8

Decisions worth knowing:

* Times: ``HH:MM:SS(.fff)``, ``MM:SS(.fff)``, seconds (``12.5``) or a frame number
  (``1520f``). A frame number is the frame's 0-based index in the order the decoder
  delivers frames (what ``Frame.index`` counts; ffmpeg's ``n``), matched against the index,
  never converted through an average fps: on a variable-frame-rate clip ``1520f`` is still
  frame 1520. Times count from the first frame (``video_info.start_time`` is added).
* A cue applies from the first frame whose time is at least the cue time minus half a
  millisecond, so a time rounded to the millisecond (a player's display, a CSV) lands
  on the frame it names rather than the one after it.
* Style mixes: ``name``, ``a:0.7+b:0.3``, ``a+b`` (equal shares) or ``none``. Weights
  adding up to more than 1 are ratios and are normalised; less than 1 leaves that share
  of the original frame (``none:0.5`` says so explicitly).
* ``fade=S`` blends linearly from the mix shown when the cue starts (which may itself be
  mid-fade) to the cue's mix over S seconds; the strength is blended the same way. A cue
  without a fade is a hard switch: its first frame gets ``Slot.cut=True`` so temporal
  smoothing restarts there.
* Everything is checked when the file is loaded, before a frame is decoded; all problems
  are collected and the first is the error message (``FILE:LINE: what is wrong``).
  A cue past the end of the video is a warning (logged, and kept on ``.warnings``).
* A PySceneDetect scene-list CSV is accepted too: each scene becomes a cue, the styles
  cycling over the scenes (see ``load_cues``).
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidstyle.errors import InputNotFound, StyleError, UsageError
from vidstyle.frames import StyleMix
from vidstyle.schedule import Slot

log = logging.getLogger(__name__)

# Half a millisecond: cue times written to the millisecond still hit their frame.
TOLERANCE = 0.0005
OPTIONS = ("fade", "strength")
TIME_FORMS = "HH:MM:SS.mmm, MM:SS, seconds (12.5) or a frame number (1520f)"


class CueError(UsageError):
    """A cue file that cannot be used; ``problems`` holds every ``FILE:LINE: ...`` found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' * (more > 1)} in this file)" if more else ""
        super().__init__(self.problems[0] + suffix)


@dataclass(frozen=True)
class Cue:
    """One parsed line. Exactly one of ``seconds`` and ``frame`` is set."""

    line: int
    when: str  # the time as written, for messages
    seconds: Fraction | None
    frame: int | None
    mix: StyleMix
    refs: tuple[str, ...] = ()  # style references named, ``none`` excluded
    fade: float = 0.0
    strength: float = 1.0


# ---------------------------------------------------------------------------- parsing

_FRAME = re.compile(r"(\d+)f")
_NUMBER = re.compile(r"\d+(\.\d+)?|\.\d+")


def parse_time(text: str) -> tuple[Fraction | None, int | None]:
    """``(seconds, None)`` or ``(None, frame)``; ValueError says what is wrong.

    Seconds are exact fractions so ``00:00:01.001`` and frame times compare without
    binary rounding surprises.
    """
    m = _FRAME.fullmatch(text)
    if m:
        return None, int(m.group(1))
    parts = text.split(":")
    if len(parts) > 3 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise ValueError(f"malformed time {text!r} (use {TIME_FORMS})")
    if any("." in p for p in parts[:-1]):
        raise ValueError(f"malformed time {text!r}: only the seconds may have a fraction")
    values = [Fraction(p) for p in parts]
    if len(values) > 1 and values[-1] >= 60:
        raise ValueError(f"malformed time {text!r}: seconds must be below 60")
    if len(values) == 3 and values[1] >= 60:
        raise ValueError(f"malformed time {text!r}: minutes must be below 60")
    seconds = Fraction(0)
    for v in values:
        seconds = seconds * 60 + v
    return seconds, None


def parse_mix(text: str) -> tuple[StyleMix, tuple[str, ...]]:
    """A mix and the style references it names; ValueError says what is wrong."""
    if text == "none":
        return {}, ()
    weights: dict[str, float] = {}
    for part in text.split("+"):
        name, weight = _split_weight(part)
        if not name:
            raise ValueError(f"bad style mix {text!r}: empty style name")
        if name in weights:
            raise ValueError(f"bad style mix {text!r}: {name!r} appears twice")
        weights[name] = weight
    total = sum(weights.values())
    scale = 1 / total if total > 1 else 1.0
    mix = {k: w * scale for k, w in weights.items() if k != "none"}
    return mix, tuple(mix)


def _split_weight(part: str) -> tuple[str, float]:
    """``name:0.7`` -> (name, 0.7); a bare name weighs 1. Only a number-like tail is a
    weight, so a reference with a colon in a path survives."""
    name, sep, tail = part.rpartition(":")
    if not sep:
        return part, 1.0
    if _NUMBER.fullmatch(tail):
        weight = float(tail)
        if weight > 0:
            return name, weight
    elif tail and not re.fullmatch(r"[-.\deE]+", tail):
        return part, 1.0
    raise ValueError(f"bad weight {tail!r} in {part!r}: use a number above 0")


def parse_options(tokens: Iterable[str]) -> dict[str, float]:
    """``fade=S`` (seconds >= 0) and ``strength=X`` (0..1); ValueError on anything else."""
    found: dict[str, float] = {}
    for tok in tokens:
        key, sep, value = tok.partition("=")
        if not sep or key not in OPTIONS:
            raise ValueError(f"bad option {tok!r} (options are fade=SECONDS and strength=0..1)")
        if key in found:
            raise ValueError(f"bad option {tok!r}: {key} is given twice")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"bad option {tok!r}: {value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"bad option {tok!r}: must be a number >= 0")
        if key == "strength" and number > 1:
            raise ValueError(f"bad option {tok!r}: strength goes from 0 to 1")
        found[key] = number
    return found


def parse_line(text: str, line: int) -> Cue | None:
    """One line of a cue file; None for blank and comment lines."""
    tokens = text.split("#", 1)[0].split()
    if not tokens:
        return None
    if len(tokens) < 2:
        raise ValueError(f"cue {tokens[0]!r} names no style (write TIME STYLE [options])")
    seconds, frame = parse_time(tokens[0])
    mix, refs = parse_mix(tokens[1])
    opts = parse_options(tokens[2:])
    return Cue(line, tokens[0], seconds, frame, mix, refs,
               fade=opts.get("fade", 0.0), strength=opts.get("strength", 1.0))


def parse_cue_text(text: str, source: str) -> tuple[list[Cue], list[str]]:
    """Every cue of a cue file, and a ``FILE:LINE: problem`` for each bad line."""
    cues: list[Cue] = []
    problems: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        try:
            cue = parse_line(raw, n)
        except ValueError as exc:
            problems.append(f"{source}:{n}: {exc}")
            cue = _time_only(raw, n)  # still checked for order: one run finds more
        if cue is not None:
            cues.append(cue)
    return cues, problems


def _time_only(text: str, line: int) -> Cue | None:
    """A placeholder for a bad line whose time is fine (never reaches a schedule)."""
    try:
        seconds, frame = parse_time(text.split("#", 1)[0].split()[0])
    except ValueError:
        return None
    return Cue(line, text.split()[0], seconds, frame, {})


def is_scene_csv(text: str) -> bool:
    """PySceneDetect's scene list has its header row first or second (after the cut list,
    which is ``Timecode List:,...`` from its CLI and bare timecodes from its API)."""
    head = [ln for ln in text.splitlines() if ln.strip()][:2]
    return any(ln.startswith(("Timecode List", "Scene Number")) for ln in head)


def parse_scene_csv(text: str, source: str, styles: Sequence[str]
                    ) -> tuple[list[Cue], list[str]]:
    """Cues at the scene starts of a PySceneDetect CSV, cycling ``styles`` over the scenes.

    The start time in seconds is used (PTS-based in PySceneDetect 0.7, so right on VFR);
    it is rounded to the millisecond there, which ``TOLERANCE`` absorbs.
    """
    rows = csv.reader(io.StringIO(text))
    column: int | None = None
    starts: list[tuple[int, str, Fraction]] = []
    problems: list[str] = []
    for row in rows:
        line = rows.line_num
        if column is None:
            if row and row[0] == "Scene Number":
                if "Start Time (seconds)" not in row:
                    return [], [f"{source}:{line}: no 'Start Time (seconds)' column"]
                column = row.index("Start Time (seconds)")
            continue
        if not any(cell.strip() for cell in row):
            continue
        try:
            value = row[column].strip()
            if not _NUMBER.fullmatch(value):
                raise ValueError
            starts.append((line, value, Fraction(value)))
        except (IndexError, ValueError):
            problems.append(f"{source}:{line}: malformed scene row (no start time in column "
                            f"{column + 1})")
    if column is None:
        return [], [f"{source}:1: not a PySceneDetect scene list (no 'Scene Number' header)"]
    cues = []
    for i, (line, value, seconds) in enumerate(starts):
        mix, refs = parse_mix(styles[i % len(styles)]) if styles else ({}, ())
        cues.append(Cue(line, value, seconds, None, mix, refs))
    return cues, problems


# ---------------------------------------------------------------------------- checking

def _order_key(cue: Cue, fps: float | None) -> float | None:
    if cue.seconds is not None:
        return float(cue.seconds)
    return cue.frame / fps if fps and cue.frame is not None else None


def check_order(cues: Sequence[Cue], source: str, fps: float | None) -> list[str]:
    """Times must strictly increase. Frame cues compare with time cues only when the fps
    is known (through it); among themselves they compare by index."""
    problems = []
    for prev, cue in itertools.pairwise(cues):
        if prev.frame is not None and cue.frame is not None:
            a, b = float(prev.frame), float(cue.frame)
        else:
            ka, kb = _order_key(prev, fps), _order_key(cue, fps)
            if ka is None or kb is None:
                continue
            a, b = ka, kb
        if b == a:
            problems.append(f"{source}:{cue.line}: duplicate time {cue.when} "
                            f"(line {prev.line} has {prev.when})")
        elif b < a:
            problems.append(f"{source}:{cue.line}: time {cue.when} is before the previous "
                            f"cue's {prev.when} (line {prev.line}); cues must be in time order")
    return problems


def unknown_style_message(ref: str, known: Sequence[str]) -> str:
    """``unknown style 'x'`` with a close match if there is one, then every known name."""
    near = difflib.get_close_matches(ref, [*known, "none"], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    listing = ", ".join(known) if known else "none installed"
    return f"unknown style {ref!r}{hint}; known styles: {listing}"


def check_styles(cues: Sequence[Cue], source: str,
                 validate: Callable[[str], str | None]) -> list[str]:
    """``validate(ref)`` returns None for a usable reference, else what is wrong."""
    problems = []
    verdicts: dict[str, str | None] = {}
    for cue in cues:
        for ref in cue.refs:
            if ref not in verdicts:
                verdicts[ref] = validate(ref)
            if verdicts[ref]:
                problems.append(f"{source}:{cue.line}: {verdicts[ref]}")
    return problems


def past_end(cues: Sequence[Cue], source: str, info: VideoFacts) -> list[str]:
    """Cues that no frame reaches: worth a warning, not an error (the file may serve a
    longer cut of the same footage)."""
    out = []
    for cue in cues:
        if cue.frame is not None and info.frames is not None:
            beyond = cue.frame >= info.frames
        elif cue.frame is not None and info.fps and info.duration is not None:
            beyond = cue.frame / info.fps >= info.duration
        elif cue.seconds is not None and info.duration is not None:
            beyond = float(cue.seconds) - TOLERANCE >= info.duration
        else:
            beyond = False
        if beyond:
            length = f"{info.duration:.3f} s" if info.duration is not None else \
                f"{info.frames} frames"
            out.append(f"{source}:{cue.line}: cue at {cue.when} is past the end of the video "
                       f"({length}); it never applies")
    return out


# ---------------------------------------------------------------------------- schedule

def blend(a: StyleMix, b: StyleMix, t: float) -> StyleMix:
    """``(1-t)·a + t·b`` weight by weight. Within one pack the engine mixes the norm rows;
    across packs it blends outputs; a missing share shows the original frame."""
    keys = dict.fromkeys([*a, *b])
    out = {k: (1 - t) * a.get(k, 0.0) + t * b.get(k, 0.0) for k in keys}
    return {k: w for k, w in out.items() if w > 0}


@dataclass
class CueSchedule:
    """The ``Schedule`` of a cue file.

    ``at`` is meant to be called in decode order (the pipeline does): it keeps a pointer
    to the current cue, so a call is O(1), it can tell the first frame of a cue (``cut``),
    and a frame-number cue learns its start time (for its fade) from the frame that reaches
    it. A call earlier in time than the previous one starts over (a new pass or a seek)
    and is marked as a cut.
    """

    cues: list[Cue]
    default: StyleMix = field(default_factory=dict)
    source: str = ""
    start: float = 0.0  # time of the first frame; cue times are relative to it
    warnings: list[str] = field(default_factory=list)
    # Where the last call left off, and what each cue learnt when it began.
    _pos: int = field(default=-1, init=False, repr=False)
    _last: tuple[float, int] | None = field(default=None, init=False, repr=False)
    _t0: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _from: dict[int, tuple[StyleMix, float]] = field(default_factory=dict, init=False,
                                                     repr=False)

    @property
    def styles(self) -> list[str]:
        refs = [*self.default, *(r for c in self.cues for r in c.refs)]
        return list(dict.fromkeys(refs))

    def at(self, time: float, index: int) -> Slot:
        went_back = self._last is not None and (time < self._last[0] or index < self._last[1])
        if went_back:
            self._pos = -1  # a new pass or a seek: find the cue from the start
        old = self._pos
        while self._pos + 1 < len(self.cues) and self._reached(self.cues[self._pos + 1],
                                                               time, index):
            self._pos += 1
            self._t0.setdefault(self._pos, self._start_of(self.cues[self._pos], time))
        self._last = (time, index)
        crossed = self.cues[old + 1:self._pos + 1]
        cut = went_back or any(c.fade <= 0 for c in crossed)
        mix, strength = self._slot(self._pos, time)
        return Slot(mix, strength, cut)

    def _reached(self, cue: Cue, time: float, index: int) -> bool:
        if cue.frame is not None:
            return index >= cue.frame
        assert cue.seconds is not None
        return time >= self.start + float(cue.seconds) - TOLERANCE

    def _start_of(self, cue: Cue, time: float) -> float:
        """When a cue begins: its own time, or for a frame cue the time of that frame."""
        return self.start + float(cue.seconds) if cue.seconds is not None else time

    def _slot(self, i: int, time: float) -> tuple[StyleMix, float]:
        """Mix and strength of cue ``i`` (-1: before the first cue) at ``time``."""
        if i < 0:
            return dict(self.default), 1.0
        cue = self.cues[i]
        t0 = self._t0.get(i, time)
        progress = (time - t0) / cue.fade if cue.fade > 0 else 1.0
        if progress >= 1:
            return dict(cue.mix), cue.strength
        if i not in self._from:
            self._from[i] = self._slot(i - 1, t0)
        mix0, strength0 = self._from[i]
        a = max(progress, 0.0)
        return blend(mix0, cue.mix, a), (1 - a) * strength0 + a * cue.strength


# ---------------------------------------------------------------------------- loading

@dataclass(frozen=True)
class VideoFacts:
    """What ``load_cues`` can use from ``video_info`` (any of them may be unknown)."""

    fps: float | None = None
    duration: float | None = None
    frames: int | None = None
    start: float = 0.0

    @classmethod
    def of(cls, info: Any) -> VideoFacts:
        """Read ``fps``/``duration``/``frames``/``start`` from a mapping or an object."""
        def get(*names: str) -> Any:
            for name in names:
                value = info.get(name) if isinstance(info, Mapping) else getattr(info, name,
                                                                                  None)
                if value is not None:
                    return value
            return None

        if info is None:
            return cls()
        fps, duration = get("fps", "average_rate", "frame_rate"), get("duration")
        frames, start = get("frames", "frame_count"), get("start", "start_time")
        return cls(float(fps) if fps else None,
                   float(duration) if duration and duration > 0 else None,  # 0: unknown
                   int(frames) if frames else None,
                   float(start) if start else 0.0)


def registry_validator(base: Path | None = None) -> Callable[[str], str | None]:
    """Check a style reference against the registry (names, ``name@pack``, pack paths)."""
    from vidstyle.styles.registry import known_names, resolve_style

    def validate(ref: str) -> str | None:
        try:
            resolve_style(anchor_ref(ref, base))
        except StyleError as exc:
            if str(exc).startswith("unknown style"):
                return unknown_style_message(ref, known_names())
            return str(exc)
        return None

    return validate


def anchor_ref(ref: str, base: Path | None) -> str:
    """A pack path in a cue file is relative to the cue file when it exists there."""
    if base is None:
        return ref
    name, at, where = ref.partition("@")
    if not at:
        name, where = "", ref
    if not (where.endswith(".safetensors") or os.sep in where):
        return ref
    candidate = base / where
    if Path(where).is_absolute() or not candidate.is_file():
        return ref
    return f"{name}@{candidate}" if name else str(candidate)


def cycle_for_csv(default_style: str | None, known: Sequence[str]) -> list[str]:
    """Styles a scene-list CSV cycles through: the installed ones, ``--style`` first."""
    styles = list(known)
    if default_style and default_style != "none":
        styles = [default_style, *(s for s in styles if s != default_style)]
    return styles


def load_cues(path: str | Path, default_style: str | None = None, video_info: Any = None,
              *, cycle: Sequence[str] | None = None,
              validate: Callable[[str], str | None] | None = None) -> CueSchedule:
    """Read, check and compile a cue file (or a PySceneDetect scene-list CSV).

    Args:
        path: the cue file.
        default_style: ``--style``; applies before the first cue (None or ``none``: the
            original frames).
        video_info: optional facts about the video, as attributes or keys: ``fps`` (to
            order frame cues against time cues), ``duration``/``frames`` (past-the-end
            warnings), ``start`` (time of the first frame, added to every cue time).
        cycle: styles a scene-list CSV cycles over (default: every installed style,
            ``default_style`` first).
        validate: style-reference check (default: the style registry); returns what is
            wrong or None.

    Raises:
        InputNotFound: no such file.
        CueError: every problem in the file, the first one as the message.
    """
    p = Path(path)
    if not p.is_file():
        raise InputNotFound(f"{path}: cue file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CueError([f"{path}: cannot read the cue file ({exc})"]) from None
    source = str(path)
    validate = validate or registry_validator(p.parent)
    facts = VideoFacts.of(video_info)

    if is_scene_csv(text):
        if cycle is None:
            from vidstyle.styles.registry import known_names

            cycle = cycle_for_csv(default_style, known_names())
        cues, problems = parse_scene_csv(text, source, list(cycle))
    else:
        cues, problems = parse_cue_text(text, source)
    problems += check_order(cues, source, facts.fps)
    problems += check_styles(cues, source, validate)
    if default_style and default_style != "none" and (why := validate(default_style)):
        problems.append(f"--style: {why}")
    if problems:
        raise CueError(sorted(problems, key=_line_of))
    if not cues:
        log.warning("%s: no cues; the default style applies throughout", source)

    warned = past_end(cues, source, facts)
    first = cues[0] if cues else None
    if (default_style not in (None, "none") and first is not None
            and (first.seconds == 0 or first.frame == 0)):
        warned.append(f"{source}:{first.line}: the first cue starts at {first.when}, so "
                      f"--style {default_style} is never used")
    for w in warned:
        log.warning("%s", w)
    default = {} if default_style in (None, "none") else {default_style: 1.0}
    return CueSchedule(cues, default, source, facts.start, warned)


def _line_of(problem: str) -> int:
    """Sort key: problems in file order (``--style`` ones last)."""
    m = re.search(r":(\d+): ", problem)
    return int(m.group(1)) if m else 1 << 30


# ---------------------------------------------------------------------------- writing

def format_time(seconds: float) -> str:
    """``HH:MM:SS.mmm``, rounded to the millisecond (``TOLERANCE`` keeps the frame)."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
