"""``vidstyle train``: make a style pack from paintings and a folder of photos."""

from __future__ import annotations

from pathlib import Path

import typer

from vidstyle.cli import app


@app.command(no_args_is_help=True)
def train(
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="Pack to write (.safetensors)."),
    style_image: list[Path] | None = typer.Option(
        None, "--style-image", help="A painting; repeat for a multi-style pack."),
    name: list[str] | None = typer.Option(
        None, "--name", help="Style name per --style-image (default: the file name)."),
    content: Path | None = typer.Option(None, "--content", help="Folder of natural photos."),
    config: Path | None = typer.Option(None, "--config", help="TOML recipe; flags override it."),
    arch: str | None = typer.Option(None, help="full (GPU) or lite (CPU, live). [default: lite]"),
    residual: str | None = typer.Option(
        None, help="pixel (output = input + net, clamped when rendering) or logit (the first "
                   "packs' sigmoid form). [default: pixel]"),
    range_weight: float | None = typer.Option(
        None, help="Penalty on pixel-residual output outside 0..1. [default: 10]"),
    size: int | None = typer.Option(None, help="Training crop size in px. [default: 256]"),
    batch: int | None = typer.Option(None, help="Batch size. [default: 4]"),
    iters: int | None = typer.Option(None, help="Iterations. [default: 40000]"),
    lr: float | None = typer.Option(None, help="Adam learning rate. [default: 1e-3]"),
    style_lr_scale: float | None = typer.Option(
        None, help="Learning-rate factor for the per-style norm rows. [default: 1]"),
    content_layer: str | None = typer.Option(None, help="relu1_2..relu4_3. [default: relu2_2]"),
    content_weight: float | None = typer.Option(None, help="[default: 1.0]"),
    style_weight: float | None = typer.Option(None, help="[default: 1.0]"),
    style_layer_weights: str | None = typer.Option(
        None, help="Weights of relu1_2,relu2_2,relu3_3,relu4_3 in the style loss, e.g. "
                   "0.2,0.5,1,1. [default: 1,1,1,1]"),
    tv_weight: float | None = typer.Option(None, help="[default: 0.01]"),
    stability_weight: float | None = typer.Option(
        None, help="Gupta et al. 2017 noise-stability loss for video. [default: 0]"),
    style_size: int | None = typer.Option(None,
                                          help="Painting's shorter side, px. [default: 256]"),
    seed: int | None = typer.Option(None, help="[default: 0]"),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, mps. [default: auto]"),
    precision: str | None = typer.Option(
        None, help="auto (bf16 autocast on GPUs and CPUs with native bf16, else fp32), "
                   "bf16 or fp32. [default: auto]"),
    vgg_weights: Path | None = typer.Option(
        None, help="VGG-16 weights: torchvision state dict or Keras .h5 (default: torchvision "
                   "ImageNet weights, downloaded once)."),
    checkpoint_every: int | None = typer.Option(None, help="[default: 200]"),
    preview_every: int | None = typer.Option(None, help="[default: 1000]"),
    add_to: Path | None = typer.Option(
        None, "--add-to", help="Add the style(s) to this pack, training only their norm rows."),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="Start from this pack's weights (same net and styles)."),
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Stop after this many minutes (the pack is written)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUTPUT's checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUTPUT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a transform net with perceptual losses (Johnson et al. 2016).

    Writes PACK.safetensors and, beside it, a checkpoint (for --resume), a JSON-lines loss
    log, a loss plot and preview images of fixed photos in every style.
    """
    from vidstyle.train.config import StyleSpec, build_config
    from vidstyle.train.trainer import train as run

    names = list(name or [])
    styles = None
    if style_image:
        styles = [StyleSpec(str(p), names[i] if i < len(names) else "")
                  for i, p in enumerate(style_image)]
    overrides = {
        "styles": styles, "content": str(content) if content else None,
        "output": str(output) if output else None, "arch": arch, "residual": residual,
        "range_weight": range_weight, "size": size, "batch": batch,
        "iters": iters, "lr": lr, "style_lr_scale": style_lr_scale, "content_layer": content_layer,
        "content_weight": content_weight, "style_weight": style_weight, "tv_weight": tv_weight,
        "style_layer_weights": _floats(style_layer_weights, "--style-layer-weights"),
        "stability_weight": stability_weight, "style_size": style_size, "seed": seed,
        "device": device, "precision": precision,
        "vgg_weights": str(vgg_weights) if vgg_weights else None,
        "checkpoint_every": checkpoint_every, "preview_every": preview_every,
        "add_to": str(add_to) if add_to else None,
        "init_from": str(init_from) if init_from else None, "time_limit": time_limit,
        "resume": resume or None, "overwrite": overwrite or None,
    }
    cfg = build_config(config, overrides)
    result = run(cfg, progress=not quiet)
    losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
    typer.echo(f"wrote {result.pack} after {result.iterations} iterations "
               f"({result.seconds_per_iteration:.2f} s/it; {losses})")


def _floats(text: str | None, flag: str) -> list[float] | None:
    """'0.2,0.5,1,1' -> [0.2, 0.5, 1.0, 1.0]; a clear error for anything else."""
    from vidstyle.errors import UsageError

    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag}: expected numbers separated by commas, not {text!r}") from None
