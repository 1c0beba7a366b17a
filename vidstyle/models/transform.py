"""Feed-forward transform nets (Johnson, Alahi & Fei-Fei 2016) with conditional instance norm.

Choices and why:

* Instance norm instead of batch norm (Ulyanov et al. 2016, "Instance Normalization: The
  Missing Ingredient for Fast Stylization"): contrast is normalised per image, which is what
  stylisation wants and what makes batch composition irrelevant at inference.
* Conditional instance norm (Dumoulin, Shlens & Kudlur 2017, "A Learned Representation for
  Artistic Style"): one trunk, a (gamma, beta) row per style. A per-sample mix vector
  blends rows, so one batch can straddle a cue and a fade is a blend of weights.
* Reflection padding, as the paper found zero padding gives border artefacts.
* Nearest upsample + conv instead of transposed conv (Odena, Dumoulin & Olah 2016,
  "Deconvolution and Checkerboard Artifacts", distill.pub/2016/deconv-checkerboard).
* Pixel-shuffle output (lite net) is smoothed by a fixed [1 2 1]x[1 2 1]/16 filter before it
  is added: sub-pixel convolution can paint a 2-px grid for free (Aitken et al. 2017,
  "Checkerboard artifact free sub-pixel convolution"), and our CPU training runs did exactly
  that, meeting the Gram targets with a saturated +/- grid that turned frames dark. The
  filter's response is zero at that frequency, so no weights can make the grid.
* The output is a residual on the input, so an untrained net starts near the identity
  instead of near black or grey and a short CPU run keeps the scene readable
  (research/loss-network.md: raw outputs spend hundreds of iterations learning
  brightness). ``residual="pixel"`` adds it to the pixels and clamps only at inference;
  ``residual="logit"``, ``sigmoid(logit(x) + f(x))``, is what the first packs used. The
  sigmoid bounds the output but its gradient vanishes where it saturates: in our longer CPU
  runs of that form (lite, 5,700 iterations; full, 750) 17-34 % of output values sat below
  0.02 (the photos have 3 %), dead black and white blobs that training could not move.
  Training sees the unclamped pixel output (as the paper's loss network saw its 150*tanh
  output) plus a small out-of-range penalty.

Both nets downsample by 4, so inputs must be padded to a multiple of ``net.stride``
(``vidstyle.engine`` does that and crops back).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

_LOGIT_EPS = 0.02
RESIDUALS = ("logit", "pixel")


class CondInstanceNorm(nn.Module):
    """Instance norm whose affine parameters are a mix of per-style rows."""

    def __init__(self, channels: int, n_styles: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))

    def forward(self, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        # mix: (N, n_styles); rows need not sum to 1 (Magenta does not normalise either).
        g = (mix.to(self.gamma.dtype) @ self.gamma)[:, :, None, None]
        b = (mix.to(self.beta.dtype) @ self.beta)[:, :, None, None]
        return F.instance_norm(x, eps=1e-5) * g.to(x.dtype) + b.to(x.dtype)


class ConvNorm(nn.Module):
    """Reflection-padded conv -> conditional instance norm -> optional ReLU.

    ``upsample`` applies nearest x2 before the conv (the checkerboard-free upsampling);
    ``groups == in_ch`` with ``pointwise`` gives a depthwise-separable conv for the lite net.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, n_styles: int, *, stride: int = 1,
                 upsample: bool = False, relu: bool = True, separable: bool = False) -> None:
        super().__init__()
        self.upsample = upsample
        self.relu = relu
        self.pad = nn.ReflectionPad2d(kernel // 2)
        if separable:
            self.conv: nn.Module = nn.Sequential(
                nn.Conv2d(in_ch, in_ch, kernel, stride, groups=in_ch, bias=False),
                nn.Conv2d(in_ch, out_ch, 1),
            )
        else:
            self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride)
        self.norm = CondInstanceNorm(out_ch, n_styles)

    def forward(self, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), mix)
        return F.relu(x) if self.relu else x


class Residual(nn.Module):
    """Two 3x3 conv-norms with an identity shortcut (He et al. 2016)."""

    def __init__(self, ch: int, n_styles: int, separable: bool = False) -> None:
        super().__init__()
        self.a = ConvNorm(ch, ch, 3, n_styles, separable=separable)
        self.b = ConvNorm(ch, ch, 3, n_styles, relu=False, separable=separable)

    def forward(self, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, mix), mix)


class TransformNet(nn.Module):
    """Shared skeleton: an encoder, residual blocks, a decoder, a residual output.

    Subclasses fill ``encoder``/``blocks``/``decoder`` and the pixel (un)shuffle factor.
    """

    arch: str = ""
    stride: int = 4

    def __init__(self, n_styles: int, residual: str = "logit") -> None:
        super().__init__()
        if n_styles < 1:
            raise ValueError("a transform net needs at least one style")
        if residual not in RESIDUALS:
            raise ValueError(f"unknown residual {residual!r}; known: {', '.join(RESIDUALS)}")
        self.n_styles = n_styles
        self.residual = residual
        self.shuffle = 1
        self.encoder = nn.ModuleList()
        self.blocks = nn.ModuleList()
        self.decoder = nn.ModuleList()
        self.head: nn.Module = nn.Identity()
        # Not a parameter, not saved in packs: part of the architecture (see module notes).
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("antigrid", (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
                             .contiguous(), persistent=False)

    def forward(self, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        """``x``: (N, 3, H, W) RGB in 0..1, H and W multiples of ``stride``; ``mix``: (N, S)."""
        h = F.pixel_unshuffle(x, self.shuffle) if self.shuffle > 1 else x
        for layer in [*self.encoder, *self.blocks, *self.decoder]:
            h = layer(h, mix)
        h = self.head(h)
        if self.shuffle > 1:
            h = F.pixel_shuffle(h, self.shuffle)
            h = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="replicate"),
                         self.antigrid.to(h.dtype), groups=3)
        if self.residual == "pixel":
            y = x + h
            return y if self.training else y.clamp(0.0, 1.0)
        base = torch.logit(x.clamp(_LOGIT_EPS, 1 - _LOGIT_EPS))
        return torch.sigmoid(base + h)

    def trunk_parameters(self) -> list[nn.Parameter]:
        """Everything but the per-style norm rows: what ``--add-to`` must leave untouched."""
        return [p for n, p in self.named_parameters() if not n.endswith((".gamma", ".beta"))]

    def style_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n.endswith((".gamma", ".beta"))]


class JohnsonNet(TransformNet):
    """The paper's net (c9s1-32, d64, d128, R128x5, U2-c3-64, U2-c3-32, c9s1-3) for GPUs."""

    arch = "full"

    def __init__(self, n_styles: int, residual: str = "logit") -> None:
        super().__init__(n_styles, residual)
        s = n_styles
        self.encoder.extend([
            ConvNorm(3, 32, 9, s),
            ConvNorm(32, 64, 3, s, stride=2),
            ConvNorm(64, 128, 3, s, stride=2),
        ])
        self.blocks.extend(Residual(128, s) for _ in range(5))
        self.decoder.extend([
            ConvNorm(128, 64, 3, s, upsample=True),
            ConvNorm(64, 32, 3, s, upsample=True),
        ])
        self.head = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(32, 3, 9))


class LiteNet(TransformNet):
    """A CPU net with no layer at full resolution.

    Pixel-unshuffle folds 2x2 pixels into channels, so the costly 9x9 full-resolution conv
    of the paper (more FLOPs than all its residual blocks) disappears; residual blocks are
    depthwise-separable at 1/4 resolution; pixel-shuffle restores full resolution. The
    upsampling path keeps 32 channels: thinner paths gave stripes in calibration runs.
    """

    arch = "lite"

    def __init__(self, n_styles: int, residual: str = "logit") -> None:
        super().__init__(n_styles, residual)
        s = n_styles
        self.shuffle = 2
        self.encoder.extend([
            ConvNorm(12, 32, 3, s),
            ConvNorm(32, 64, 3, s, stride=2),
        ])
        self.blocks.extend(Residual(64, s, separable=True) for _ in range(4))
        self.decoder.extend([ConvNorm(64, 32, 3, s, upsample=True, separable=True)])
        self.head = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(32, 12, 3))


ARCHS: dict[str, Callable[..., TransformNet]] = {"full": JohnsonNet, "lite": LiteNet}


def build_net(arch: str, n_styles: int, residual: str = "logit") -> TransformNet:
    """Build an untrained net by architecture name (the name stored in style packs)."""
    try:
        net = ARCHS[arch](n_styles, residual)
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHS)}") from None
    if residual == "pixel":
        # The default init paints +/-0.2 of noise in pixel units (the sigmoid form divides
        # that by ~4); start quieter so an untrained net is close to the identity.
        with torch.no_grad():
            for p in net.head.parameters():
                p.mul_(0.1)
    return net
