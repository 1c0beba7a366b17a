"""Style packs: the safetensors format, and the registry that resolves ``--style NAME``."""

from vidstyle.styles.pack import StylePack, load_pack, save_pack
from vidstyle.styles.registry import StyleInfo, available_styles, resolve_style

__all__ = ["StyleInfo", "StylePack", "available_styles", "load_pack", "resolve_style", "save_pack"]
