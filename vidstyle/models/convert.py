"""The single place where pixel ranges change.

Outside the models every image is ``uint8`` RGB ``(N, H, W, 3)`` in 0..255. The
transform nets see ``float`` RGB ``(N, 3, H, W)`` in 0..1 and answer in 0..1. The loss
network adapts 0..1 RGB to its own convention (``vidstyle.models.vgg``).
"""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(images: np.ndarray, device: torch.device | str = "cpu",
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 NHWC (or HWC) RGB -> float NCHW in 0..1 on ``device``."""
    if images.ndim == 3:
        images = images[None]
    t = torch.from_numpy(np.ascontiguousarray(images)).to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).to(dtype).div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float NCHW in 0..1 -> uint8 NHWC RGB on the CPU (rounded, clamped)."""
    t = images.detach().float().clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
    return t.permute(0, 2, 3, 1).contiguous().cpu().numpy()
