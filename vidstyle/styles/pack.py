"""The style-pack format: one ``.safetensors`` file, fp16 tensors plus validated JSON metadata.

Packs come from strangers, so loading never unpickles: safetensors holds raw tensors only,
and the metadata is checked field by field before a net is built from it. The tensor names
and shapes must match the declared architecture exactly.

Metadata (safetensors header key ``vidstyle``, a JSON object)::

    format_version  1
    arch            "full" | "lite"
    residual        "logit" | "pixel" (how the net's output meets the input; absent = "logit",
                    the first packs' form; see vidstyle.models.transform)
    styles          [{name, title, artist, year, file, sha256}, ...]   (one per norm row)
    recipe          the training options (free-form JSON object)
    training        {iterations, losses, seconds_per_iteration, where, ...} (free-form)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vidstyle.errors import StyleError, describe
from vidstyle.models.transform import ARCHS, RESIDUALS, TransformNet, build_net

FORMAT_VERSION = 1
OLD_RESIDUAL = "logit"  # what packs written before the "residual" key was added use
META_KEY = "vidstyle"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass
class StylePack:
    """A loaded, validated pack: its net (fp32, CPU, eval) and what it says about itself."""

    path: Path | None
    arch: str
    styles: list[dict[str, Any]]
    recipe: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    net: TransformNet | None = None

    @property
    def residual(self) -> str:
        return self.net.residual if self.net is not None else OLD_RESIDUAL

    @property
    def names(self) -> list[str]:
        return [s["name"] for s in self.styles]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def metadata(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "arch": self.arch, "residual": self.residual,
                "styles": self.styles, "recipe": self.recipe, "training": self.training}


def _fail(path: Path | None, problem: str) -> StyleError:
    return StyleError(describe(path or "<style pack>", f"invalid style pack: {problem}"))


def validate_metadata(meta: Any, path: Path | None = None) -> None:
    """Raise StyleError unless ``meta`` is a well-formed pack description."""
    if not isinstance(meta, dict):
        raise _fail(path, "metadata is not a JSON object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise _fail(path, f"unsupported format_version {meta.get('format_version')!r} "
                          f"(this vidstyle reads {FORMAT_VERSION})")
    if meta.get("arch") not in ARCHS:
        raise _fail(path, f"unknown arch {meta.get('arch')!r}; known: {', '.join(ARCHS)}")
    if meta.get("residual", OLD_RESIDUAL) not in RESIDUALS:
        raise _fail(path, f"unknown residual {meta.get('residual')!r}; "
                          f"known: {', '.join(RESIDUALS)}")
    styles = meta.get("styles")
    if not isinstance(styles, list) or not styles:
        raise _fail(path, "no styles listed")
    seen: set[str] = set()
    for s in styles:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str):
            raise _fail(path, "every style needs a name")
        if not NAME_RE.match(s["name"]):
            raise _fail(path, f"bad style name {s['name']!r} (lower-case letters, digits, - and _)")
        if s["name"] in seen:
            raise _fail(path, f"style {s['name']!r} listed twice")
        seen.add(s["name"])
        for key in ("title", "artist", "file", "sha256"):
            if key in s and not isinstance(s[key], str | None):
                raise _fail(path, f"style {s['name']!r}: {key} must be a string")
    for key in ("recipe", "training"):
        if not isinstance(meta.get(key, {}), dict):
            raise _fail(path, f"{key} must be a JSON object")


def save_pack(pack: StylePack, path: str | Path) -> Path:
    """Write ``pack`` (net and metadata) as fp16 safetensors, atomically."""
    from safetensors.torch import save_file

    from vidstyle.io.output import replacing

    if pack.net is None:
        raise ValueError("pack has no net to save")
    meta = pack.metadata()
    validate_metadata(meta)
    path = Path(path)
    tensors = {k: v.detach().to("cpu", torch.float16).contiguous()
               for k, v in pack.net.state_dict().items()}
    with replacing(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})
    return path


def load_pack(path: str | Path) -> StylePack:
    """Load and validate a pack; the net comes back in fp32 on the CPU, in eval mode."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise StyleError(describe(path, "style pack not found"))
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise StyleError(describe(path, f"not a readable safetensors style pack ({exc})")) from None
    if raw is None:
        raise _fail(path, f"no '{META_KEY}' metadata")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"metadata is not JSON ({exc.msg})") from None
    validate_metadata(meta, path)
    net = build_net(meta["arch"], len(meta["styles"]), meta.get("residual", OLD_RESIDUAL))
    expected = net.state_dict()
    if set(tensors) != set(expected):
        extra = sorted(set(tensors) ^ set(expected))[:3]
        raise _fail(path, f"tensors do not match arch {meta['arch']!r} ({', '.join(extra)}...)")
    for k, v in tensors.items():
        if v.shape != expected[k].shape:
            raise _fail(path, f"tensor {k} has shape {tuple(v.shape)}, "
                              f"expected {tuple(expected[k].shape)}")
        if not torch.isfinite(v).all():
            raise _fail(path, f"tensor {k} holds NaN or infinity")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return StylePack(path=path, arch=meta["arch"], styles=meta["styles"],
                     recipe=meta.get("recipe", {}), training=meta.get("training", {}),
                     net=net.eval().requires_grad_(False))
