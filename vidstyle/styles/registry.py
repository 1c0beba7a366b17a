"""Resolve ``--style`` references to (pack, style) pairs.

Search order (DESIGN §4): built-in packs shipped in the package, then the user's style
folder (``$VIDSTYLE_HOME/styles``, default the platform data dir), then an explicit path.
A later source with the same style name shadows an earlier one, so a user can retrain
``monet`` and have ``--style monet`` pick theirs.

Reference forms:

* ``monet``            a style name; the pack whose arch suits the device is preferred
* ``monet@lite``       that style from the pack with that stem (``lite.safetensors``)
* ``path/pack.safetensors``          the pack's first style
* ``monet@path/pack.safetensors``    a named style in an explicit pack
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vidstyle.errors import StyleError
from vidstyle.styles.pack import StylePack, load_pack

BUILTIN_DIR = Path(__file__).parent / "builtin"


def user_style_dir() -> Path:
    """Where ``vidstyle train`` output can be dropped to become a named style."""
    home = os.environ.get("VIDSTYLE_HOME")
    if home:
        return Path(home).expanduser() / "styles"
    from platformdirs import user_data_dir

    return Path(user_data_dir("vidstyle")) / "styles"


@dataclass(frozen=True)
class StyleInfo:
    name: str
    pack: Path
    arch: str
    origin: str  # "built-in" | "user"
    title: str
    artist: str


def _pack_files() -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for origin, folder in (("built-in", BUILTIN_DIR), ("user", user_style_dir())):
        if folder.is_dir():
            found += [(origin, p) for p in sorted(folder.glob("*.safetensors"))]
    return found


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime: float) -> StylePack:
    return load_pack(path)


def cached_pack(path: str | Path) -> StylePack:
    """Load a pack once per process (keyed by path and modification time)."""
    p = Path(path).resolve()
    if not p.is_file():
        raise StyleError(f"{path}: style pack not found")
    return _load_cached(p, p.stat().st_mtime)


def available_styles() -> list[StyleInfo]:
    """Every style in every pack we can find; unreadable user packs are skipped."""
    infos: list[StyleInfo] = []
    for origin, path in _pack_files():
        try:
            pack = cached_pack(path)
        except StyleError:
            if origin == "built-in":
                raise
            continue
        for s in pack.styles:
            infos.append(StyleInfo(s["name"], path, pack.arch, origin,
                                   s.get("title") or s["name"], s.get("artist") or "unknown"))
    return infos


def known_names() -> list[str]:
    return sorted({i.name for i in available_styles()})


def resolve_style(ref: str, prefer_arch: str | None = None) -> tuple[StylePack, str]:
    """Turn a style reference into a loaded pack and the style's name in it."""
    name, _, where = ref.partition("@")
    if not where and (ref.endswith(".safetensors") or os.sep in ref):
        name, where = "", ref
    if where and (where.endswith(".safetensors") or os.sep in where or Path(where).is_file()):
        pack = cached_pack(Path(where).expanduser())
        if not name:
            return pack, pack.names[0]
        if name not in pack.names:
            raise StyleError(f"{where}: no style {name!r} in this pack "
                             f"(it has: {', '.join(pack.names)})")
        return pack, name

    candidates = [i for i in available_styles()
                  if i.name == name and (not where or i.pack.stem == where)]
    if not candidates:
        known = ", ".join(known_names()) or "none installed"
        raise StyleError(f"unknown style {ref!r}; known styles: {known}")
    # User packs shadow built-ins; among equals, the preferred arch wins.
    candidates.sort(key=lambda i: (i.origin == "user", i.arch == prefer_arch), reverse=True)
    best = candidates[0]
    return cached_pack(best.pack), best.name
