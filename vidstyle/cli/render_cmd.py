"""``vidstyle render``: a video file (or URL) in, a styled video with its audio out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import typer

from vidstyle.cli import app
from vidstyle.errors import UsageError
from vidstyle.temporal import DEFAULT_SMOOTH


@app.command()
def render(
    src: str = typer.Argument(..., metavar="IN", help="Input video file or URL."),
    output: Path = typer.Option(..., "-o", "--output", help="Output video (.mp4 .mov .mkv "
                                                            ".webm)."),
    style: str = typer.Option("none", "--style", "-s", help="Style name, pack path, or "
                                                            "'none' (pass-through)."),
    strength: float = typer.Option(1.0, min=0.0, max=1.0, help="Mix of styled and original."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, mps."),
    precision: str = typer.Option(
        "auto", help="auto (GPU fp16; CPU bf16 where native, else fp32), fp32, fp16, bf16."),
    batch: int | None = typer.Option(None, min=1, help="Frames per inference batch."),
    max_size: int | None = typer.Option(None, "--max-size", min=16,
                                        help="Paint at most this many px on the long side."),
    arch: str | None = typer.Option(None, help="Prefer the full or lite pack."),
    codec: str | None = typer.Option(
        None, help="Video encoder: libx264 (default), libvpx-vp9 (default for .webm), "
                   "libx265, libsvtav1, h264_nvenc, ..."),
    crf: int | None = typer.Option(None, min=0, max=63, help="Constant quality (lower=better)."),
    preset: str | None = typer.Option(
        None, help="Encoder speed preset: ultrafast..placebo for x264/x265 (default medium), "
                   "cpu-used -8..8 for VP9 (default 4)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    cues: Path | None = typer.Option(
        None, "--cues", help="Cue file: styles over time (--style, if given, holds until the "
                             "first cue)."),
    smooth: str = typer.Option(
        DEFAULT_SMOOTH, "--smooth",
        help="Temporal smoothing: flow (optical-flow blending, reset at cuts), ema, none."),
    smooth_strength: float | None = typer.Option(
        None, "--smooth-strength", min=0.0, max=1.0,
        help="How much of the past to keep, 0..1 (default: flow 0.7, ema 0.3)."),
) -> None:
    """Paint every frame of IN and write OUT with IN's audio, timing and frame count."""
    from vidstyle.api import render as render_api

    if arch not in (None, "full", "lite"):
        raise UsageError(f"--arch must be full or lite, not {arch!r}")
    schedule = None
    if cues is not None:
        from vidstyle.cues import load_cues
        from vidstyle.io.decode import probe

        schedule = load_cues(cues, style, probe(src))
    from vidstyle.temporal import make_smoother

    smoother = make_smoother(smooth, smooth_strength)
    result = render_api(src, output, style=style, strength=strength, schedule=schedule,
                        device=device, precision=precision, batch=batch, max_size=max_size,
                        arch=arch, codec=codec, crf=crf, preset=preset, overwrite=overwrite,
                        quiet=quiet or as_json, smoother=smoother)
    if as_json:
        typer.echo(json.dumps(result))
    elif not quiet:
        print(f"wrote {result['output']}: {result['frames']} frames in {result['seconds']:.1f} s "
              f"({result['fps']} fps)", file=sys.stderr)


def _image_inputs(sources: list[Path]) -> list[Path]:
    """Files as given; a folder contributes its images (sorted, not recursive)."""
    from vidstyle.errors import InputNotFound
    from vidstyle.train.images import IMAGE_SUFFIXES

    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(f"{src}: no images in this folder")
            files += found
        elif not src.exists():
            raise InputNotFound(f"{src}: no such file")
        else:
            files.append(src)
    return files


def _image_targets(files: list[Path], sources: list[Path], output: Path) -> list[Path]:
    """One output per input: OUT itself for a single file, else OUT/<input name>."""
    from vidstyle.train.images import IMAGE_SUFFIXES

    to_dir = output.is_dir() or len(files) > 1 or any(s.is_dir() for s in sources)
    if not to_dir:
        if output.suffix.lower() not in IMAGE_SUFFIXES:
            raise UsageError(f"{output}: unknown image extension "
                             f"{output.suffix or '(none)'!r}; use .jpg or .png")
        return [output]
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: not a folder, and {len(files)} images need one")
    names = [f.name for f in files]
    clash = next((n for n in names if names.count(n) > 1), None)
    if clash:
        raise UsageError(f"{output}: two inputs are both named {clash!r}")
    if output.parent.is_dir():  # else check_output names the missing folder
        output.mkdir(exist_ok=True)
    return [output / f.name for f in files]


@app.command()
def image(
    sources: list[Path] = typer.Argument(..., metavar="IN...", help="Images or folders."),
    output: Path = typer.Option(..., "-o", "--output",
                                help="Output image, or a folder for several inputs."),
    style: str = typer.Option(..., "--style", "-s", help="Style name or pack path."),
    strength: float = typer.Option(1.0, min=0.0, max=1.0, help="Mix of styled and original."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, mps."),
    precision: str = typer.Option(
        "auto", help="auto (GPU fp16; CPU bf16 where native, else fp32), fp32, fp16, bf16."),
    max_size: int | None = typer.Option(None, "--max-size", min=16,
                                        help="Paint at most this many px on the long side."),
    arch: str | None = typer.Option(None, help="Prefer the full or lite pack."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace outputs that exist."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Paint still images (EXIF orientation honoured; output upright, at the input's size)."""
    from PIL import Image

    from vidstyle.io.output import atomic_output, check_output
    from vidstyle.pipeline import make_painter
    from vidstyle.train.images import read_rgb

    if arch not in (None, "full", "lite"):
        raise UsageError(f"--arch must be full or lite, not {arch!r}")
    files = _image_inputs(sources)
    targets = _image_targets(files, sources, output)
    inputs = [str(f) for f in files]
    for target in targets:  # refuse everything before painting anything
        check_output(target, inputs, overwrite)
    paint = make_painter([style], device, precision, max_size, arch)
    written = []
    for src, target in zip(files, targets, strict=True):
        rgb = np.array(read_rgb(src))  # writable: torch.from_numpy warns on a read-only view
        out = rgb.copy() if paint is None else paint(rgb[None], [{style: 1.0}], strength)[0]
        with atomic_output(target, inputs, overwrite) as tmp:
            img = Image.fromarray(out)
            try:
                img.save(tmp, format=Image.registered_extensions()[target.suffix.lower()],
                         **({"quality": 95, "subsampling": 0}
                            if target.suffix.lower() in (".jpg", ".jpeg")
                            else {}))
            except OSError as exc:
                from vidstyle.errors import RuntimeFailure

                raise RuntimeFailure(f"{target}: cannot write ({exc})") from None
        written.append({"input": str(src), "output": str(target),
                        "width": out.shape[1], "height": out.shape[0]})
    if as_json:
        typer.echo(json.dumps({"style": style, "images": written}))
    else:
        for w in written:
            print(f"wrote {w['output']} ({w['width']}x{w['height']})", file=sys.stderr)
