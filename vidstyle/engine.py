"""Inference: device and precision, batching, padding to the net's stride, OOM back-off.

``Stylizer`` is the one object every front end (render, image, live) uses to paint frames.
It holds the nets of the packs it needs; a frame's style mix says how much of each style
it gets. Within one pack a mix is blended in the net (conditional instance norm rows);
across packs, the packs' outputs are blended by their total weights; weight left below 1
(or ``strength < 1``) keeps that much of the original frame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.errors import RuntimeFailure, StyleError
from vidstyle.frames import StyleMix
from vidstyle.models.convert import to_tensor, to_uint8
from vidstyle.styles.pack import StylePack
from vidstyle.styles.registry import resolve_style

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then the CPU; or exactly what the user named."""
    if name != "auto":
        try:
            dev = torch.device(name)
        except RuntimeError as exc:
            raise StyleError(f"--device {name!r}: {exc}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise StyleError(f"--device {name}: CUDA is not available on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX-512 BF16 or AMX), not by emulation.

    There oneDNN's bf16 convolutions run the lite net 2.2x faster than fp32 (62 vs 136 ms a
    360p frame on one EPYC core) for a mean difference of 0.4 levels (p99 3) in the output;
    emulated bf16 is slower than fp32, so anything unsure says no.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return ("avx512_bf16" in flags or "amx_bf16" in flags) and bool(
        torch.backends.mkldnn.is_available())


def pick_precision(name: str, device: torch.device) -> torch.dtype:
    """fp16 on GPUs (tensor cores); on the CPU bf16 where it is native, else fp32."""
    if name == "auto":
        if device.type in ("cuda", "mps"):
            return torch.float16
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    try:
        return PRECISIONS[name]
    except KeyError:
        raise StyleError(f"--precision must be auto, {', '.join(PRECISIONS)}") from None


def cpu_threads() -> int:
    """Intra-op threads for CPU inference: all cores but one.

    Decoding and encoding run in their own threads beside inference; when torch's OpenMP
    pool claims every core its workers spin against them, and we measured a lite-net frame
    go from 20 ms (1 thread) to 600 ms (2 threads) on a busy 2-core machine.
    ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` set by the user win.
    """
    return max(1, (os.cpu_count() or 2) - 1)


def default_batch(device: torch.device) -> int:
    return 8 if device.type == "cuda" else 2 if device.type == "mps" else 1


def default_arch(device: torch.device) -> str:
    return "full" if device.type == "cuda" else "lite"


def pad_to_multiple(x: torch.Tensor, m: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad bottom/right so H and W are multiples of ``m`` (crop back afterwards)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, h, w


@dataclass
class _Loaded:
    pack: StylePack
    net: torch.nn.Module


class Stylizer:
    """Paint batches of uint8 RGB frames with one or more styles.

    Args:
        styles: style references (``monet``, ``monet@lite``, ``pack.safetensors``); the keys
            of the mixes given to ``__call__``. ``"none"`` is always accepted.
        device, precision: ``"auto"`` picks CUDA+fp16, MPS+fp16 or CPU+fp32.
        max_size: process frames whose longer side exceeds this at a smaller size and scale
            the result back (style texture scales with it).
        arch: prefer the ``full`` or ``lite`` pack when a name exists in both.
    """

    def __init__(self, styles: Sequence[str], device: str = "auto", precision: str = "auto",
                 max_size: int | None = None, arch: str | None = None) -> None:
        self.device = pick_device(device)
        self.dtype = pick_precision(precision, self.device)
        self.max_size = max_size
        self.arch = arch or default_arch(self.device)
        if self.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(min(torch.get_num_threads(), cpu_threads()))
        self._packs: dict[int, _Loaded] = {}
        # style ref -> (id of pack, row index in that pack)
        self.refs: dict[str, tuple[int, int]] = {}
        for ref in dict.fromkeys(styles):
            if ref != "none":
                self.add_style(ref)

    def add_style(self, ref: str) -> None:
        """Load (once) the pack behind ``ref`` so mixes may name it."""
        if ref in self.refs or ref == "none":
            return
        pack, name = resolve_style(ref, prefer_arch=self.arch)
        key = id(pack)
        if key not in self._packs:
            net = pack.net
            assert net is not None
            import copy

            net = copy.deepcopy(net).to(self.device, self.dtype).eval()
            if self.device.type == "cuda":
                net = net.to(memory_format=torch.channels_last)
            self._packs[key] = _Loaded(pack, net)
        self.refs[ref] = (key, pack.index(name))

    @property
    def style_names(self) -> list[str]:
        return list(self.refs)

    def __call__(self, images: np.ndarray, mixes: Sequence[StyleMix] | StyleMix,
                 strength: Sequence[float] | float = 1.0) -> np.ndarray:
        """Paint ``images`` (N, H, W, 3) uint8 RGB; returns the same shape and dtype."""
        n = images.shape[0]
        mix_list = [mixes] * n if isinstance(mixes, dict) else list(mixes)
        strengths = np.broadcast_to(np.asarray(strength, dtype=np.float32), (n,)).copy()
        if len(mix_list) != n:
            raise ValueError("one style mix per image")
        if all(not m or all(k == "none" for k in m) for m in mix_list) or not strengths.any():
            return images.copy()
        with torch.inference_mode():
            x = to_tensor(images, self.device, torch.float32)
            y = self._paint(x, mix_list)
            s = torch.as_tensor(strengths, device=self.device).view(n, 1, 1, 1)
            y = s * y + (1 - s) * x
            return to_uint8(y)

    def _paint(self, x: torch.Tensor, mixes: list[StyleMix]) -> torch.Tensor:
        n = x.shape[0]
        out = torch.zeros_like(x)
        used = torch.zeros(n, device=x.device)
        for key, loaded in self._packs.items():
            rows = torch.zeros(n, len(loaded.pack.names))
            for i, mix in enumerate(mixes):
                for ref, w in mix.items():
                    if ref == "none":
                        continue
                    if ref not in self.refs:
                        raise StyleError(f"style {ref!r} was not loaded")
                    pk, row = self.refs[ref]
                    if pk == key:
                        rows[i, row] += w
            weight = rows.sum(1)
            sel = torch.nonzero(weight > 0).flatten()
            if len(sel) == 0:
                continue
            w_sel = weight[sel].to(x.device)
            mix = (rows[sel] / weight[sel, None]).to(x.device)
            painted = self._run(loaded.net, x[sel], mix)
            out[sel] += painted * w_sel.view(-1, 1, 1, 1)
            used[sel] += w_sel
        rest = (1 - used).clamp_min(0).view(n, 1, 1, 1)
        total = torch.maximum(used, torch.ones_like(used)).view(n, 1, 1, 1)
        return (out + rest * x) / total

    def _run(self, net: torch.nn.Module, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        """Resize for max_size, pad to the stride, run with OOM back-off, undo both."""
        h, w = x.shape[-2:]
        scale = 1.0
        if self.max_size and max(h, w) > self.max_size:
            scale = self.max_size / max(h, w)
            small = (max(1, round(h * scale)), max(1, round(w * scale)))
            x_in = F.interpolate(x, size=small, mode="area")
        else:
            x_in = x
        xp, hh, ww = pad_to_multiple(x_in, net.stride)
        y = _backoff(net, xp.to(self.dtype), mix.to(self.dtype))[..., :hh, :ww].float()
        if scale != 1.0:
            y = F.interpolate(y, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
        return y


def _backoff(net: torch.nn.Module, x: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """Run ``net``; on GPU out-of-memory halve the batch, and at batch 1 tile the frame."""
    channels_last = x.is_cuda
    try:
        xin = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        return net(xin, mix)
    except torch.OutOfMemoryError:
        if x.is_cuda:
            torch.cuda.empty_cache()
        if x.shape[0] > 1:
            half = x.shape[0] // 2
            return torch.cat([_backoff(net, x[:half], mix[:half]),
                              _backoff(net, x[half:], mix[half:])])
        return _tiled(net, x, mix)


def _tiled(net: torch.nn.Module, x: torch.Tensor, mix: torch.Tensor, overlap: int = 32
           ) -> torch.Tensor:
    """Paint a frame too big for memory in 2x2 overlapping tiles with feathered seams.

    Each tile normalises its own statistics, so seams are feathered over ``overlap`` px;
    a last resort that keeps a render going rather than a look we aim for.
    """
    _, _, h, w = x.shape
    if min(h, w) < 4 * overlap:
        raise RuntimeFailure("out of GPU memory even for one small frame; try --device cpu")
    stride = getattr(net, "stride", 4)
    out = torch.zeros_like(x)
    acc = torch.zeros((1, 1, h, w), device=x.device, dtype=x.dtype)
    hs = [(0, h // 2 + overlap), (h // 2 - overlap, h)]
    ws = [(0, w // 2 + overlap), (w // 2 - overlap, w)]
    for y0, y1 in hs:
        for x0, x1 in ws:
            tile, th, tw = pad_to_multiple(x[..., y0:y1, x0:x1], stride)
            painted = _backoff(net, tile, mix)[..., :th, :tw]
            ramp_y = _ramp(th, overlap, y0 > 0, y1 < h, x.device, x.dtype).view(1, 1, -1, 1)
            ramp_x = _ramp(tw, overlap, x0 > 0, x1 < w, x.device, x.dtype).view(1, 1, 1, -1)
            weight = ramp_y * ramp_x
            out[..., y0:y1, x0:x1] += painted * weight
            acc[..., y0:y1, x0:x1] += weight
    return out / acc.clamp_min(1e-6)


def _ramp(n: int, overlap: int, fade_in: bool, fade_out: bool, device: torch.device,
          dtype: torch.dtype) -> torch.Tensor:
    r = torch.ones(n, device=device, dtype=dtype)
    ramp = torch.linspace(0.0, 1.0, 2 * overlap + 2, device=device, dtype=dtype)[1:-1]
    if fade_in:
        r[: 2 * overlap] = ramp
    if fade_out:
        r[-2 * overlap:] = ramp.flip(0)
    return r
