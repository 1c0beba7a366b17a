"""Transform nets and the inference engine: shapes, mixing, padding, precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidstyle.engine import Stylizer, pad_to_multiple
from vidstyle.models import build_net
from vidstyle.models.convert import to_tensor, to_uint8


@pytest.mark.parametrize("residual", ["pixel", "logit"])
@pytest.mark.parametrize("arch", ["full", "lite"])
def test_untrained_net_starts_near_identity(arch: str, residual: str) -> None:
    # The residual output: an untrained net must not turn the frame grey or black.
    torch.manual_seed(0)
    net = build_net(arch, 2, residual).eval()
    x = torch.rand(1, 3, 32, 48) * 0.8 + 0.1
    with torch.no_grad():
        y = net(x, torch.tensor([[1.0, 0.0]]))
    assert y.shape == x.shape
    assert y.min() >= 0 and y.max() <= 1
    assert (y - x).abs().mean() < 0.15


def test_conditional_norm_mix_is_a_blend_of_rows() -> None:
    net = build_net("lite", 2).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith((".gamma", ".beta")):
                p.copy_(torch.randn(p.shape))
    x = torch.rand(3, 3, 16, 16)
    mix = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    with torch.no_grad():
        y = net(x, mix)
        # Same input three times: the half mix must use the mean of the two (gamma, beta) rows.
        first = net.encoder[0]
        h = first.conv(first.pad(torch.nn.functional.pixel_unshuffle(x[:1].repeat(3, 1, 1, 1), 2)))
        a, b, c = first.norm(h, mix).chunk(3)
    assert torch.allclose(c, (a + b) / 2, atol=1e-5)
    assert not torch.allclose(y[0], y[1])


def test_unknown_arch_is_named() -> None:
    with pytest.raises(ValueError, match="known: full, lite"):
        build_net("huge", 1)
    with pytest.raises(ValueError, match="known: logit, pixel"):
        build_net("lite", 1, "tanh")


def test_pixel_residual_is_unbounded_in_training_and_clamped_when_rendering() -> None:
    """Training must see (and be able to pull back) values past 0..1; renders never hold them.

    The sigmoid (logit) form has no such values, but its gradient vanishes where it
    saturates: that is the point of the pixel form.
    """
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16) * 0.8 + 0.1
    mix = torch.ones(1, 1)
    grads = {}
    for residual, push in (("pixel", 2.0), ("logit", 12.0)):  # every pixel far past white
        net = build_net("lite", 1, residual).train()
        with torch.no_grad():
            net.head[1].bias.fill_(push)
        y = net(x, mix)
        y.mean().backward()
        grads[residual] = net.head[1].bias.grad.abs().min()
        if residual == "pixel":
            assert y.min() > 1.5
            with torch.no_grad():
                assert torch.equal(net.eval()(x, mix), torch.ones_like(x))
    assert grads["pixel"] > 0.01  # training can still pull the output back
    assert grads["logit"] < 1e-4  # saturated: nothing left to learn from


@pytest.mark.parametrize("shape", [(359, 641), (338, 640), (144, 176), (1, 1), (5, 3)])
def test_pad_to_multiple_and_back(shape: tuple[int, int]) -> None:
    x = torch.rand(1, 3, *shape)
    padded, h, w = pad_to_multiple(x, 4)
    assert padded.shape[-2] % 4 == 0 and padded.shape[-1] % 4 == 0
    assert (h, w) == shape
    assert torch.equal(padded[..., :h, :w], x)


def test_range_conversion_round_trips_exactly() -> None:
    img = np.random.default_rng(0).integers(0, 256, (2, 7, 9, 3), dtype=np.uint8)
    t = to_tensor(img)
    assert t.shape == (2, 3, 7, 9) and float(t.max()) <= 1.0
    assert np.array_equal(to_uint8(t), img)


@pytest.mark.parametrize("size", [(359, 641), (338, 640), (144, 176)])
def test_stylizer_keeps_exact_size(style_home, size: tuple[int, int]) -> None:
    img = np.random.default_rng(1).integers(0, 256, (1, *size, 3), dtype=np.uint8)
    out = Stylizer(["alpha"])(img, {"alpha": 1.0})
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 2  # the style did something


def test_stylizer_none_and_zero_strength_are_exact(style_home) -> None:
    img = np.random.default_rng(2).integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
    s = Stylizer(["alpha"])
    assert np.array_equal(s(img, {}), img)
    assert np.array_equal(s(img, {"alpha": 1.0}, strength=0.0), img)


def test_stylizer_strength_blends_linearly(style_home) -> None:
    img = np.random.default_rng(3).integers(0, 256, (1, 24, 24, 3), dtype=np.uint8)
    s = Stylizer(["alpha"])
    full = s(img, {"alpha": 1.0}).astype(float)
    half = s(img, {"alpha": 1.0}, strength=0.5).astype(float)
    assert np.abs(half - (full + img) / 2).max() <= 1.0


def test_stylizer_max_size_processes_smaller_but_returns_full_size(style_home) -> None:
    img = np.random.default_rng(4).integers(0, 256, (1, 90, 160, 3), dtype=np.uint8)
    out = Stylizer(["alpha"], max_size=64)(img, {"alpha": 1.0})
    assert out.shape == img.shape


def test_stylizer_tiles_when_memory_runs_out(style_home, monkeypatch) -> None:
    # Simulate a GPU out-of-memory on anything larger than a tile: the frame still comes out.
    s = Stylizer(["alpha"])
    net = next(iter(s._packs.values())).net
    real = net.forward

    def tight(x, mix):
        if x.shape[-1] * x.shape[-2] > 160 * 160 or x.shape[0] > 1:
            raise torch.OutOfMemoryError("simulated")
        return real(x, mix)

    monkeypatch.setattr(net, "forward", tight)
    img = np.random.default_rng(5).integers(0, 256, (2, 200, 256, 3), dtype=np.uint8)
    out = s(img, {"alpha": 1.0})
    assert out.shape == img.shape
    monkeypatch.setattr(net, "forward", real)
    ref = s(img, {"alpha": 1.0})
    # Tiles normalise their own statistics, so they differ somewhat, but not wildly.
    assert np.abs(out.astype(int) - ref).mean() < 40


def test_auto_precision_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidstyle import engine

    cpu = torch.device("cpu")
    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: True)
    assert engine.pick_precision("auto", cpu) == torch.bfloat16
    assert engine.pick_precision("fp32", cpu) == torch.float32  # asked for: obeyed
    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: False)
    assert engine.pick_precision("auto", cpu) == torch.float32
    assert engine.pick_precision("auto", torch.device("cuda")) == torch.float16


def test_bf16_paints_within_a_few_levels_of_fp32(style_home) -> None:
    img = np.random.default_rng(3).integers(0, 256, (1, 40, 56, 3), dtype=np.uint8)
    a = Stylizer(["alpha"], precision="fp32")(img, {"alpha": 1.0}).astype(int)
    b = Stylizer(["alpha"], precision="bf16")(img, {"alpha": 1.0}).astype(int)
    assert np.abs(a - img).mean() > 2  # a real painting to compare
    assert np.abs(a - b).mean() < 1.5 and np.percentile(np.abs(a - b), 99) <= 8


def test_lite_net_cannot_paint_a_two_pixel_grid() -> None:
    """Sub-pixel (pixel-shuffle) output can alternate neighbours for free; the lite net's
    fixed filter removes that frequency, so whatever the weights, no 2-px grid survives."""
    net = build_net("lite", 1).double()
    torch.manual_seed(0)
    for p in net.head.parameters():
        torch.nn.init.normal_(p, 0.0, 0.05)  # a head free to give each sub-pixel its own value
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64) * 0.8 + 0.1
    one = torch.ones(1, 1, dtype=torch.float64)

    def grid_energy() -> list[float]:
        with torch.no_grad():
            h = (torch.logit(net(x, one)) - torch.logit(x))[..., 2:-2, 2:-2]  # the residual
        s = (-1.0) ** torch.arange(h.shape[-1], dtype=torch.float64)
        return [((h * m).mean().abs() / h.abs().mean()).item()
                for m in (s, s[:, None], s[:, None] * s)]  # columns, rows, checkerboard

    assert max(grid_energy()) < 0.005
    net.antigrid.zero_()
    net.antigrid[:, :, 1, 1] = 1.0  # without the filter: the same weights do paint it
    assert max(grid_energy()) > 0.05
