"""Training options: one dataclass, filled from a TOML recipe and then from the command line.

A recipe (``configs/styles/NAME.toml``) uses the same names as the flags, with ``-``
or ``_``. Styles are listed as ``[[styles]]`` tables (image, name, title, artist, year,
sha256); when a sha256 is given the painting is checked against it, so a recipe
reproduces exactly the pack it describes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from vidstyle.errors import UsageError, describe


@dataclass
class StyleSpec:
    image: str
    name: str = ""
    title: str = ""
    artist: str = ""
    year: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            stem = Path(self.image).stem.lower()
            self.name = "".join(c if c.isalnum() else "-" for c in stem).strip("-") or "style"


@dataclass
class TrainConfig:
    styles: list[StyleSpec] = field(default_factory=list)
    content: str = ""
    output: str = ""
    arch: str = "lite"
    residual: str = "pixel"  # where the output meets the input: "pixel" or "logit" (old packs)
    range_weight: float = 10.0  # penalty on a pixel-residual output outside 0..1
    size: int = 256
    batch: int = 4
    iters: int = 40000
    lr: float = 1e-3
    style_lr_scale: float = 1.0
    content_layer: str = "relu2_2"
    content_weight: float = 1.0
    style_weight: float = 1.0
    # Per style layer (relu1_2, relu2_2, relu3_3, relu4_3), multiplying style_weight.
    style_layer_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0, 1.0])
    tv_weight: float = 1e-2
    stability_weight: float = 0.0
    stability_noise: float = 0.04
    style_size: int = 256
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast where the hardware has it, else fp32
    vgg_weights: str | None = None
    checkpoint_every: int = 200
    preview_every: int = 1000
    add_to: str | None = None
    init_from: str | None = None
    time_limit: float = 0.0  # minutes; 0 = until iters
    resume: bool = False
    overwrite: bool = False
    notes: str = ""

    def recipe(self) -> dict[str, Any]:
        """What goes in the pack's metadata: everything but machine-local paths and flags."""
        d = asdict(self)
        for k in ("content", "output", "resume", "overwrite", "add_to", "init_from", "time_limit",
                  "device", "precision", "vgg_weights"):
            d.pop(k)
        d["styles"] = [{k: v for k, v in s.items() if k != "image"} | {
            "file": Path(s["image"]).name} for s in d["styles"]]
        return d


_FIELDS = {f.name for f in fields(TrainConfig)}


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Read a TOML recipe into TrainConfig keyword arguments (paths relative to the recipe)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(describe(path, "recipe not found")) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(describe(path, f"not valid TOML ({exc})")) from None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise UsageError(describe(path, f"unknown option {key!r}"))
        out[name] = value
    if "styles" in out:
        try:
            out["styles"] = [StyleSpec(**s) for s in out["styles"]]
        except TypeError as exc:
            raise UsageError(describe(path, f"bad [[styles]] entry ({exc})")) from None
    return out


def build_config(recipe: str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Recipe values, then every override that is not None (the flags the user gave)."""
    values = load_recipe(recipe) if recipe else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values)
