"""Style packs: round trip, validation of what strangers may send, and name resolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import make_pack
from safetensors.torch import load_file, save_file

from vidstyle.cli import main
from vidstyle.errors import StyleError
from vidstyle.models import build_net
from vidstyle.styles.pack import StylePack, load_pack, save_pack
from vidstyle.styles.registry import resolve_style


def _rewrite(src: Path, dst: Path, meta=None, tensors=None) -> Path:
    t = load_file(str(src))
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        m = json.loads(f.metadata()["vidstyle"])
    if meta is not None:
        m = meta(m)
    if tensors is not None:
        t = tensors(t)
    save_file(t, str(dst), metadata={"vidstyle": json.dumps(m) if isinstance(m, dict) else m})
    return dst


def test_round_trip_keeps_weights_in_fp16(tmp_path: Path) -> None:
    p = make_pack(tmp_path / "p.safetensors", ["one", "two"], arch="full")
    raw = load_file(str(p))
    assert all(v.dtype == torch.float16 for v in raw.values())
    pack = load_pack(p)
    assert pack.names == ["one", "two"] and pack.arch == "full"
    for k, v in pack.net.state_dict().items():
        assert torch.equal(v, raw[k].float())
    assert p.stat().st_size < 4_000_000  # fp16: a full net is ~3.4 MB


@pytest.mark.parametrize("residual", ["pixel", "logit"])
def test_pack_keeps_its_residual_form_and_old_packs_read_as_logit(tmp_path: Path,
                                                                  residual: str) -> None:
    net = build_net("lite", 1, residual)
    styles = [{"name": "a"}]
    p = save_pack(StylePack(path=None, arch="lite", styles=styles, net=net), tmp_path / "a.st")
    pack = load_pack(p)
    assert pack.residual == pack.net.residual == residual
    # Packs written before the key existed were all logit-residual.
    old = _rewrite(p, tmp_path / "old.st", meta=lambda m: {k: v for k, v in m.items()
                                                           if k != "residual"})
    assert load_pack(old).net.residual == "logit"


@pytest.mark.parametrize("edit, message", [
    (lambda m: {**m, "format_version": 99}, "unsupported format_version"),
    (lambda m: {**m, "arch": "gigantic"}, "unknown arch"),
    (lambda m: {**m, "residual": "tanh"}, "unknown residual"),
    (lambda m: {**m, "styles": []}, "no styles"),
    (lambda m: {**m, "styles": [{"name": "Bad Name!"}, {"name": "x"}]}, "bad style name"),
    (lambda m: {**m, "styles": [{"name": "a"}, {"name": "a"}]}, "listed twice"),
    (lambda m: {**m, "styles": [{"name": "a"}]}, "has shape"),  # 1 style, 2 norm rows
    (lambda m: "not json {", "not JSON"),
])
def test_bad_metadata_is_refused_with_a_reason(tmp_path: Path, edit, message: str) -> None:
    good = make_pack(tmp_path / "good.safetensors", ["a", "b"])
    bad = _rewrite(good, tmp_path / "bad.safetensors", meta=edit)
    with pytest.raises(StyleError, match=message) as err:
        load_pack(bad)
    assert "bad.safetensors" in str(err.value)


def test_wrong_shapes_and_nan_are_refused(tmp_path: Path) -> None:
    good = make_pack(tmp_path / "good.safetensors", ["a", "b"])

    def shrink(t):
        k = next(iter(t))
        return {**t, k: t[k][..., :1].contiguous()}

    with pytest.raises(StyleError, match=r"shape|do not match"):
        load_pack(_rewrite(good, tmp_path / "s.safetensors", tensors=shrink))

    def poison(t):
        k = next(iter(t))
        v = t[k].clone()
        v.view(-1)[0] = float("nan")
        return {**t, k: v}

    with pytest.raises(StyleError, match="NaN"):
        load_pack(_rewrite(good, tmp_path / "n.safetensors", tensors=poison))


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    # A torch.save file (a pickle) posing as a pack: refused without executing anything.
    evil = tmp_path / "evil.safetensors"
    torch.save({"x": torch.zeros(1)}, evil)
    with pytest.raises(StyleError, match="not a readable safetensors"):
        load_pack(evil)
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(StyleError):
        load_pack(tmp_path / "empty.safetensors")


def test_resolution_order_and_unknown_names(style_home: Path, tmp_path: Path) -> None:
    pack, name = resolve_style("alpha")
    assert name == "alpha" and pack.path.name == "testpack.safetensors"
    pack, name = resolve_style("beta@testpack")
    assert name == "beta"
    explicit = make_pack(tmp_path / "mine.safetensors", ["gamma"])
    pack, name = resolve_style(str(explicit))
    assert name == "gamma"
    pack, name = resolve_style(f"gamma@{explicit}")
    assert name == "gamma"
    with pytest.raises(StyleError, match="known styles: alpha, beta"):
        resolve_style("monet-ish")
    with pytest.raises(StyleError, match="no style 'zeta'"):
        resolve_style(f"zeta@{explicit}")


def test_styles_command_lists_and_draws(style_home: Path, tmp_path: Path, capsys) -> None:
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "user" in out
    import cv2
    import numpy as np

    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), np.full((90, 160, 3), 120, np.uint8))
    sheet = tmp_path / "sheet.jpg"
    assert main(["styles", "--sheet", str(sheet), "--frame", str(frame), "--width", "80"]) == 0
    img = cv2.imread(str(sheet))
    assert img.shape[1] == 5 * 80  # original + 2 styles, padded to a row of 5
    assert main(["styles", "--sheet", str(sheet), "--frame", str(frame)]) == 2  # exists
