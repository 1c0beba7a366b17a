"""``vidstyle styles``: what is installed, and a contact sheet of all of it."""

from __future__ import annotations

from pathlib import Path

import typer

from vidstyle.cli import app


@app.command()
def styles(
    sheet: Path | None = typer.Option(None, "--sheet", help="Render every style on one frame "
                                                            "into this image (PNG/JPEG)."),
    frame: Path | None = typer.Option(None, "--frame", help="Image or video for --sheet "
                                                            "(default: the shipped sample)."),
    width: int = typer.Option(320, help="Width of each tile in the sheet."),
    arch: str | None = typer.Option(None, help="Sheet from the full or lite pack."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the sheet if it exists."),
) -> None:
    """List the installed styles (built-in, then yours), or draw them all with --sheet."""
    from vidstyle.styles.registry import available_styles

    infos = available_styles()
    if sheet is None:
        if not infos:
            typer.echo("no styles installed")
        for i in infos:
            typer.echo(f"{i.name:<18} {i.arch:<5} {i.origin:<9} {i.title} — {i.artist}")
        return
    from vidstyle.styles.sheet import write_sheet

    out = write_sheet(sheet, frame, width=width, arch=arch, overwrite=overwrite)
    typer.echo(f"wrote {out}")
