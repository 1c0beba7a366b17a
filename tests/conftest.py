"""Shared fixtures: style packs made on the spot, and a private style folder.

Tests never download anything and never need the built-in packs: a fixture pack is an
untrained net whose norm rows are perturbed so each style visibly changes a frame.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vidstyle.models.transform import build_net
from vidstyle.styles.pack import StylePack, save_pack

torch.set_num_threads(1)  # leave the other core to whatever else runs (tests share a 2-core box)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


def make_pack(path: Path, names: list[str], arch: str = "lite", seed: int = 0) -> Path:
    """A valid pack whose styles differ from each other and from the identity."""
    g = torch.Generator().manual_seed(seed)
    net = build_net(arch, len(names))
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".gamma"):
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith(".beta"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
        # A louder output layer: the default init paints only a few levels once the lite
        # net's anti-grid filter has smoothed it, too close to the input for the tests
        # that tell a painted frame from a passed-through one.
        for p in net.head.parameters():
            p.mul_(3.0)
    styles = [{"name": n, "title": n.title(), "artist": "Test", "year": "2026",
               "file": f"{n}.jpg", "sha256": "0" * 64} for n in names]
    save_pack(StylePack(path=path, arch=arch, styles=styles, net=net), path)
    return path


@pytest.fixture
def style_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """VIDSTYLE_HOME with a user pack holding styles ``alpha`` and ``beta`` (lite)."""
    home = tmp_path / "vidstyle_home"
    (home / "styles").mkdir(parents=True)
    make_pack(home / "styles" / "testpack.safetensors", ["alpha", "beta"])
    monkeypatch.setenv("VIDSTYLE_HOME", str(home))
    return home


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip the test cleanly where it is absent."""
    if not (SHARED_DATA / "video").is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA
