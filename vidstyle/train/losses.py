"""Perceptual losses: feature reconstruction, Gram-matrix style, total variation.

Each content/style term is divided by the energy of its target. Raw VGG activations differ
by orders of magnitude between layers and between weight conventions (Caffe 0..255 vs
torchvision 0..1); normalised terms make one recipe's weights mean the same with either
loss network, and make ``--style-weight 1`` a balanced starting point.
"""

from __future__ import annotations

import torch


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by C*H*W, as in the paper: (N, C, C)."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def content_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (out - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-8)


def style_loss(out_feats: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
               layer_weights: dict[str, float] | None = None) -> torch.Tensor:
    """Weighted sum over layers (weight 1 where ``layer_weights`` is silent).

    ``target_grams[layer]`` is (N, C, C), one row per sample's style. Normalised, every layer
    weighs the same by default, and relu1_2 (5-px receptive field: colour and fine grain) is
    the hardest to match; lowering it leaves more of the loss to the strokes and shapes that
    the deeper layers see. Each sample is normalised by its own painting's energy: normalised
    over the whole batch, bright, busy paintings drowned out dark ones 3-6x in a multi-style
    net, whose shared trunk then learned their look for every style.
    """
    weights = layer_weights or {}
    total = torch.zeros((), device=next(iter(out_feats.values())).device)
    for layer, target in target_grams.items():
        g = gram(out_feats[layer])
        err = ((g - target).pow(2).mean(dim=(1, 2))
               / target.pow(2).mean(dim=(1, 2)).clamp_min(1e-12)).mean()
        total = total + weights.get(layer, 1.0) * err
    return total


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbours (anisotropic TV) of a 0..1 image."""
    dx = (img[..., :, 1:] - img[..., :, :-1]).abs().mean()
    dy = (img[..., 1:, :] - img[..., :-1, :]).abs().mean()
    return dx + dy
