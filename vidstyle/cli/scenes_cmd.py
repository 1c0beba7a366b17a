"""``vidstyle scenes``: find the shots of a video and write a cue template for them."""

from __future__ import annotations

from pathlib import Path

import typer

from vidstyle.cli import app


@app.command()
def scenes(
    video: Path = typer.Argument(..., help="The video to cut into scenes."),
    output: Path = typer.Option(..., "--output", "-o", help="Cue file to write (OUT.cue)."),
    styles: str | None = typer.Option(None, "--styles", help="Comma-separated styles to cycle "
                                      "over the scenes (default: every installed style)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Cut sensitivity: lower "
                                           "finds more cuts (content: 27, adaptive: 3)."),
    detector: str = typer.Option("content", "--detector", help="content or adaptive."),
    min_scene_len: int = typer.Option(15, "--min-scene-len", help="Shortest scene, in frames."),
    fade: float = typer.Option(0.0, "--fade", help="Write fade=S on every cue after the first."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """Detect shot changes (PySceneDetect) and write a cue file that cycles styles over them."""
    from vidstyle.cues import registry_validator
    from vidstyle.errors import StyleError, UsageError
    from vidstyle.io.output import check_output
    from vidstyle.scenes import cue_template, detect_scenes, write_text
    from vidstyle.styles.registry import known_names

    names = [s.strip() for s in styles.split(",") if s.strip()] if styles else known_names()
    if not names:
        raise StyleError("no styles installed; name some with --styles")
    if fade < 0:
        raise UsageError(f"--fade must be 0 or more, not {fade:g}")
    validate = registry_validator()
    for name in names:
        if name != "none" and (why := validate(name)):
            raise StyleError(f"--styles: {why}")
    check_output(output, [str(video)], overwrite)  # before the slow part
    found = detect_scenes(video, detector, threshold, min_scene_len)
    text = cue_template(found, names, video.name, fade)
    write_text(output, text, overwrite=overwrite)
    cuts = ", ".join(f"{s.start:.3f} s (frame {s.frame})" for s in found.cuts) or "none"
    typer.echo(f"{len(found.cuts)} cut{'s' * (len(found.cuts) != 1)} found: {cuts}")
    typer.echo(f"wrote {output} ({len(found.scenes)} cues)")
