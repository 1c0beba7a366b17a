"""The training loop: random crops of photos through the net, judged by a frozen VGG-16.

Every iteration draws its images, crops, flips and styles from a generator seeded with
(seed, iteration), so ``--resume`` continues exactly where a run stopped: the checkpoint
only has to hold the weights, Adam's moments and the iteration number.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.engine import cpu_has_native_bf16, pick_device
from vidstyle.errors import OutputExists, UsageError, describe
from vidstyle.io.output import replacing
from vidstyle.models.convert import to_tensor, to_uint8
from vidstyle.models.transform import TransformNet, build_net
from vidstyle.models.vgg import LAYERS, LossNetwork, load_loss_network
from vidstyle.styles.pack import StylePack, load_pack, save_pack
from vidstyle.train import images
from vidstyle.train.config import StyleSpec, TrainConfig
from vidstyle.train.losses import content_loss, gram, style_loss, tv_loss
from vidstyle.train.report import save_loss_plot, save_preview

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


class ContentPhotos:
    """The training photos, decoded once and kept in memory (1,878 at 256 px is ~0.5 GB)."""

    def __init__(self, folder: str | Path) -> None:
        self.files = images.list_images(folder)
        self._cache: dict[int, np.ndarray] = {}
        self.skipped: list[Path] = []

    def get(self, i: int) -> np.ndarray | None:
        if i not in self._cache:
            try:
                self._cache[i] = images.read_rgb(self.files[i])
            except UsageError:
                self.skipped.append(self.files[i])
                return None
        return self._cache[i]

    def crop_batch(self, n: int, size: int, g: torch.Generator) -> np.ndarray:
        """``n`` random scale-jittered, flipped ``size``-px crops (unreadable files skipped)."""
        out = []
        attempts = 0
        while len(out) < n:
            attempts += 1
            if attempts > 50 * n:
                raise UsageError(describe(self.files[0].parent, "no readable content images"))
            img = self.get(int(torch.randint(len(self.files), (1,), generator=g)))
            jitter = float(torch.empty(1).uniform_(1.0, 1.5, generator=g))
            flip = bool(torch.randint(2, (1,), generator=g))
            if img is None:
                continue
            img = images.resize_short(img, round(size * jitter))
            h, w = img.shape[:2]
            y = int(torch.randint(h - size + 1, (1,), generator=g))
            x = int(torch.randint(w - size + 1, (1,), generator=g))
            crop = img[y:y + size, x:x + size]
            out.append(crop[:, ::-1] if flip else crop)
        return np.stack(out)


@dataclass
class TrainResult:
    pack: Path
    iterations: int
    losses: dict[str, float]
    seconds_per_iteration: float


def _style_targets(vgg: LossNetwork, specs: list[StyleSpec], size: int, device: torch.device
                   ) -> dict[str, torch.Tensor]:
    """Gram matrices of each painting, stacked per layer: (S, C, C)."""
    grams: dict[str, list[torch.Tensor]] = {layer: [] for layer in STYLE_LAYERS}
    for spec in specs:
        rgb = images.resize_short(images.read_style_image(spec.image), size)
        with torch.no_grad():
            feats = vgg(to_tensor(rgb, device), STYLE_LAYERS)
        for layer in STYLE_LAYERS:
            grams[layer].append(gram(feats[layer])[0])
    return {k: torch.stack(v) for k, v in grams.items()}


def _check_styles(specs: list[StyleSpec]) -> list[dict[str, Any]]:
    """Verify each painting (and its recipe hash) and describe it for the pack metadata."""
    described = []
    for spec in specs:
        path = Path(spec.image)
        images.read_style_image(path)  # fails early with a clear line
        digest = images.sha256_of(path)
        if spec.sha256 and spec.sha256 != digest:
            raise UsageError(describe(path, f"sha256 {digest[:12]}... does not match the "
                                            f"recipe's {spec.sha256[:12]}..."))
        described.append({"name": spec.name, "title": spec.title or spec.name,
                          "artist": spec.artist, "year": str(spec.year), "file": path.name,
                          "sha256": digest})
    return described


def _checkpoint_path(output: Path) -> Path:
    return output.with_name(output.stem + ".ckpt.safetensors")


def _opt_params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


def save_checkpoint(path: Path, net: TransformNet, opt: torch.optim.Optimizer, it: int,
                    cfg: TrainConfig) -> None:
    from safetensors.torch import save_file

    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for i, p in enumerate(_opt_params(opt)):
        for k, v in opt.state.get(p, {}).items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
    with replacing(path) as tmp:
        save_file(tensors, str(tmp), metadata={"iteration": str(it), "arch": net.arch,
                                               "n_styles": str(net.n_styles)})


def load_checkpoint(path: Path, net: TransformNet, opt: torch.optim.Optimizer) -> int:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("arch") != net.arch or int(meta.get("n_styles", -1)) != net.n_styles:
            raise UsageError(describe(path, "checkpoint is for a different net or style count"))
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    device = next(net.parameters()).device
    for i, p in enumerate(_opt_params(opt)):
        state = {k.split(".", 2)[2]: v.to(device) for k, v in tensors.items()
                 if k.startswith(f"opt.{i}.")}
        if state:
            state["step"] = state["step"].cpu()
            opt.state[p] = state
    return int(meta["iteration"])


def _prepare_net(cfg: TrainConfig) -> tuple[TransformNet, list[dict[str, Any]], int,
                                           StylePack | None]:
    """A fresh net, a pack's weights (``--init-from``), or (``--add-to``) the pack's net
    grown by the new styles' norm rows."""
    if cfg.init_from and cfg.add_to:
        raise UsageError("--init-from and --add-to cannot be combined")
    if cfg.init_from:
        return _warm_start(cfg), [], 0, None
    if not cfg.add_to:
        return build_net(cfg.arch, len(cfg.styles), cfg.residual), [], 0, None
    base = load_pack(cfg.add_to)
    clash = {s.name for s in cfg.styles} & set(base.names)
    if clash:
        raise UsageError(describe(cfg.add_to, f"already has style(s) {', '.join(sorted(clash))}"))
    n_old = len(base.names)
    net = build_net(base.arch, n_old + len(cfg.styles), base.residual)
    state = net.state_dict()
    for k, v in base.net.state_dict().items():
        if k.endswith((".gamma", ".beta")):
            # New rows start from the mean of the old ones: a plausible style to refine.
            state[k] = torch.cat([v, v.mean(0, keepdim=True).repeat(len(cfg.styles), 1)])
        else:
            state[k] = v
    net.load_state_dict(state)
    cfg.arch, cfg.residual = base.arch, base.residual
    return net, base.styles, n_old, base


def _warm_start(cfg: TrainConfig) -> TransformNet:
    """The net of an earlier pack with the same styles, to keep training it (fresh Adam).

    A lost checkpoint, or a recipe changed mid-run (a loss weight retuned), need not mean
    starting over: the pack's fp16 weights are a good start for the same net.
    """
    base = load_pack(cfg.init_from)
    names = [s.name for s in cfg.styles]
    if (base.arch, base.residual) != (cfg.arch, cfg.residual) or base.names != names:
        raise UsageError(describe(cfg.init_from, f"is a {base.arch} {base.residual}-residual net "
                                                 f"of styles {', '.join(base.names)}; the recipe "
                                                 f"wants a {cfg.arch} {cfg.residual}-residual "
                                                 f"net of {', '.join(names)}"))
    net = build_net(cfg.arch, len(names), cfg.residual)
    net.load_state_dict({k: v.float() for k, v in base.net.state_dict().items()})
    return net


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for the forward passes, or None for plain fp32.

    bf16 needs no loss scaling (fp16 would) and, where the hardware computes it natively,
    a training step of the lite net at 128 px on this project's 2-core EPYC takes 0.47 s
    instead of 0.73 s. Losses and Gram matrices are still computed in fp32.
    """
    if precision not in ("auto", "bf16", "fp32"):
        raise UsageError(f"--precision must be auto, bf16 or fp32, not {precision!r}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    native = (torch.cuda.is_bf16_supported() if device.type == "cuda"
              else device.type == "cpu" and cpu_has_native_bf16())
    return torch.bfloat16 if native else None


def train(cfg: TrainConfig, progress: bool = True, loss_net: LossNetwork | None = None
          ) -> TrainResult:
    """Run (or resume) a training job and write the pack; returns what was reached.

    ``loss_net`` replaces the VGG-16 named by the config (tests use a tiny random one).
    """
    from tqdm import tqdm

    if not cfg.styles:
        raise UsageError("no style image given (--style-image PAINTING)")
    if not cfg.output:
        raise UsageError("no output pack given (-o PACK.safetensors)")
    if cfg.content_layer not in LAYERS:
        raise UsageError(f"--content-layer must be one of {', '.join(LAYERS)}")
    output = Path(cfg.output)
    if output.exists() and not (cfg.resume or cfg.overwrite):
        # Hours of training live in that file: never replace it by accident.
        raise OutputExists(describe(output, "exists (use --overwrite, or --resume to go on "
                                            "training it)"))
    device = pick_device(cfg.device)
    amp = autocast_dtype(cfg.precision, device)

    def mixed() -> torch.autocast:  # the forward passes' precision (losses stay fp32)
        return torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None)

    if device.type == "cuda":
        # TF32 convs/matmuls and cuDNN autotuning: the crops have one fixed size.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)
    new_styles = _check_styles(cfg.styles)
    photos = ContentPhotos(cfg.content)
    vgg = (loss_net or load_loss_network(cfg.vgg_weights)).to(device)

    net, old_styles, n_old, base = _prepare_net(cfg)
    net = net.to(device).train()
    if base is not None:
        net.requires_grad_(False)
        params = net.style_parameters()
        for p in params:
            p.requires_grad_(True)
    else:
        params = list(net.parameters())
    # The per-style norm rows see only their own style's samples (a fraction of each batch),
    # so they may learn faster than the shared trunk: style_lr_scale.
    style_ids = {id(p) for p in net.style_parameters()}
    opt = torch.optim.Adam([
        {"params": [p for p in params if id(p) not in style_ids], "lr": cfg.lr},
        {"params": [p for p in params if id(p) in style_ids], "lr": cfg.lr * cfg.style_lr_scale},
    ])
    ckpt = _checkpoint_path(output)
    start = load_checkpoint(ckpt, net, opt) if cfg.resume and ckpt.is_file() else 0
    if cfg.resume and start == 0 and not ckpt.is_file():
        raise UsageError(describe(ckpt, "no checkpoint to resume from"))

    if len(cfg.style_layer_weights) != len(STYLE_LAYERS) or min(cfg.style_layer_weights) < 0:
        raise UsageError(f"style_layer_weights needs {len(STYLE_LAYERS)} non-negative numbers "
                         f"({', '.join(STYLE_LAYERS)}), not {cfg.style_layer_weights}")
    layer_w = dict(zip(STYLE_LAYERS, cfg.style_layer_weights, strict=True))
    targets = {k: v.to(device) for k, v in _style_targets(vgg, cfg.styles, cfg.style_size,
                                                          device).items()}
    log_path = output.with_name(output.stem + ".log.jsonl")
    history = _read_history(log_path, start)
    preview_photos = [images.resize_short(photos.get(i), 256)[:256, :256]
                      for i in range(min(4, len(photos.files))) if photos.get(i) is not None]
    all_styles = old_styles + new_styles
    n_total = len(all_styles)

    def write_outputs(it: int, sec_per_it: float) -> None:
        save_checkpoint(ckpt, net, opt, it, cfg)
        _write_log(log_path, history)
        recent = history[-50:] or [{}]
        losses = {k: float(np.mean([h[k] for h in recent if k in h]))
                  for k in ("total", "content", "style", "tv", "range", "stability")
                  if k in recent[0]}
        training = {"iterations": it, "losses": losses, "seconds_per_iteration": sec_per_it,
                    "where": f"{platform.node() or 'unknown'} {device.type} "
                             f"{'bf16 autocast' if amp else 'fp32'} "
                             f"({platform.processor() or platform.machine()}), "
                             f"torch {torch.__version__}",
                    "notes": cfg.notes}
        if base is not None:
            training = {"base": base.training, "added": training}
        pack = StylePack(path=output, arch=net.arch, styles=all_styles,
                         recipe=cfg.recipe(), training=training, net=net)
        save_pack(pack, output)

    t0 = time.perf_counter()
    bar = tqdm(range(start, cfg.iters), initial=start, total=cfg.iters, disable=not progress,
               unit="it", dynamic_ncols=True)
    sec_per_it = 0.0
    for it in bar:
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + it)
        x = to_tensor(photos.crop_batch(cfg.batch, cfg.size, g), device)
        which = torch.randint(len(cfg.styles), (cfg.batch,), generator=g) + n_old
        mix = F.one_hot(which, n_total).float().to(device)
        noise = torch.randn(x.shape, generator=g).to(device) * cfg.stability_noise

        with mixed():
            y = net(x, mix)
            feats = vgg(y)
            with torch.no_grad():
                target = vgg(x, (cfg.content_layer,))[cfg.content_layer]
        y, target = y.float(), target.float()
        feats = {k: v.float() for k, v in feats.items()}
        lc = content_loss(feats[cfg.content_layer], target)
        ls = style_loss(feats, {k: v[which - n_old] for k, v in targets.items()}, layer_w)
        lt = tv_loss(y)
        loss = cfg.content_weight * lc + cfg.style_weight * ls + cfg.tv_weight * lt
        record = {"iteration": it + 1, "content": lc.item(), "style": ls.item(), "tv": lt.item(),
                  "styles": which.tolist()}  # losses differ a lot by style
        if net.residual == "pixel":
            # The loss network sees the unclamped output; rendering clamps it. Keep the two
            # close, or the net could paint with values no video can hold.
            lrange = (y - y.clamp(0, 1)).pow(2).mean()
            loss = loss + cfg.range_weight * lrange
            record["range"] = lrange.item()
        if cfg.stability_weight > 0:
            # Gupta et al. 2017: the same frame with a little noise should paint the same.
            with mixed():
                noisy = net((x + noise).clamp(0, 1), mix)
            lst = (noisy.float() - y).pow(2).mean()
            loss = loss + cfg.stability_weight * lst
            record["stability"] = lst.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if base is not None:
            for p in params:  # only the new styles' rows learn; the old rows stay exact
                p.grad[:n_old] = 0
        opt.step()
        record["total"] = loss.item()
        history.append(record)
        sec_per_it = (time.perf_counter() - t0) / (it + 1 - start)
        bar.set_postfix(content=f"{lc.item():.3f}", style=f"{ls.item():.3f}",
                        tv=f"{lt.item():.3f}")
        done = it + 1
        # --time-limit: a lent GPU or a night of CPU is a budget of minutes, not iterations.
        out_of_time = bool(cfg.time_limit) and time.perf_counter() - t0 > cfg.time_limit * 60
        if done % cfg.checkpoint_every == 0 or done == cfg.iters or out_of_time:
            write_outputs(done, sec_per_it)
        if done % cfg.preview_every == 0 or done == cfg.iters or out_of_time:
            _previews(net, preview_photos, n_total, output, device)
            save_loss_plot(history, output.with_name(output.stem + ".losses.png"))
        if out_of_time:
            break
    bar.close()
    if start >= cfg.iters:
        write_outputs(start, sec_per_it)
    reached = history[-1]["iteration"] if history else start
    if photos.skipped:
        print(f"skipped {len(set(photos.skipped))} unreadable content image(s)")
    recent = history[-50:]
    losses = {k: float(np.mean([h[k] for h in recent])) for k in ("content", "style", "tv")
              } if recent else {}
    return TrainResult(output, int(max(start, reached)), losses, sec_per_it)


def _previews(net: TransformNet, photos: list[np.ndarray], n_styles: int, output: Path,
              device: torch.device) -> None:
    if not photos:
        return
    net.eval()
    rows = [np.concatenate(photos, axis=1)]
    with torch.no_grad():
        x = to_tensor(np.stack(photos), device)
        for s in range(n_styles):
            mix = F.one_hot(torch.full((len(photos),), s), n_styles).float().to(device)
            rows.append(np.concatenate(list(to_uint8(net(x, mix))), axis=1))
    net.train()
    save_preview(np.concatenate(rows, axis=0), output.with_name(output.stem + ".preview.jpg"))


def _read_history(path: Path, upto: int) -> list[dict[str, float]]:
    if upto == 0 or not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["iteration"] <= upto]


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    with replacing(path) as tmp:
        tmp.write_text("".join(json.dumps(h) + "\n" for h in history))
