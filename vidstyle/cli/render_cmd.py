"""``vidstyle render``: a video file (or URL) in, a styled video with its audio out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from vidstyle.cli import app
from vidstyle.errors import UsageError


def _optional(module: str, feature: str):
    """Import a module another part of the project provides, or say plainly it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise UsageError(f"{feature} is not available in this build ({module} is missing)"
                         ) from None


@app.command()
def render(
    src: str = typer.Argument(..., metavar="IN", help="Input video file or URL."),
    output: Path = typer.Option(..., "-o", "--output", help="Output video (.mp4 .mov .mkv "
                                                            ".webm)."),
    style: str = typer.Option("none", "--style", "-s", help="Style name, pack path, or "
                                                            "'none' (pass-through)."),
    strength: float = typer.Option(1.0, min=0.0, max=1.0, help="Mix of styled and original."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, mps."),
    precision: str = typer.Option("auto", help="auto, fp32, fp16, bf16."),
    batch: int | None = typer.Option(None, min=1, help="Frames per inference batch."),
    max_size: int | None = typer.Option(None, "--max-size", min=16,
                                        help="Paint at most this many px on the long side."),
    arch: str | None = typer.Option(None, help="Prefer the full or lite pack."),
    codec: str | None = typer.Option(None, help="Video encoder (default by extension)."),
    crf: int | None = typer.Option(None, min=0, max=63, help="Constant quality (lower=better)."),
    preset: str | None = typer.Option(None, help="Encoder speed preset."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    cues: Path | None = typer.Option(None, "--cues", help="Cue file: styles over time."),
    smooth: str = typer.Option("none", "--smooth", help="Temporal smoothing: none, ema, flow."),
    smooth_strength: float | None = typer.Option(None, "--smooth-strength", min=0.0, max=1.0),
) -> None:
    """Paint every frame of IN and write OUT with IN's audio, timing and frame count."""
    from vidstyle.api import render as render_api

    if arch not in (None, "full", "lite"):
        raise UsageError(f"--arch must be full or lite, not {arch!r}")
    schedule = None
    if cues is not None:
        from vidstyle.io.decode import probe

        load_cues = _optional("vidstyle.cues", "--cues").load_cues
        schedule = load_cues(cues, style, probe(src))
    smoother = None
    if smooth != "none":
        make_smoother = _optional("vidstyle.temporal", "--smooth").make_smoother
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
