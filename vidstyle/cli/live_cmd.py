"""``vidstyle live``: the webcam (or a clip) as a moving painting, newest frame first."""

from __future__ import annotations

from pathlib import Path

import typer

from vidstyle.cli import app
from vidstyle.live import KEYS_HELP
from vidstyle.temporal import DEFAULT_SMOOTH

_KEYS = "\n\n".join(["Keys in the window (also shown with h):"] +
                    [f"  {k}: {v}" for k, v in KEYS_HELP])


@app.command(epilog=_KEYS)
def live(
    style: str | None = typer.Option(None, "--style", "-s",
                                     help="Style to start with (default: the first installed); "
                                          "n/p and 1-9 switch among all installed styles."),
    source: str = typer.Option("0", "--source", "-i",
                               help="Camera index, device path (/dev/video2), or a video "
                                    "file/URL played at its own frame rate."),
    size: int = typer.Option(360, "--size", help="Processing size: the shorter side in pixels "
                                                 "(240, 360, 480...); 0 keeps the source size."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:1, mps."),
    precision: str = typer.Option(
        "auto", help="auto (GPU fp16; CPU bf16 where native, else fp32), fp32, fp16, bf16."),
    arch: str | None = typer.Option(None, help="full or lite pack (default: lite on CPU)."),
    strength: float = typer.Option(1.0, min=0.0, max=1.0,
                                   help="0 = original, 1 = fully styled."),
    smooth: str = typer.Option(DEFAULT_SMOOTH, help="Temporal smoothing: flow (a cheaper "
                                                    "flow than render's), ema or none."),
    smooth_strength: float | None = typer.Option(None, min=0.0, max=1.0,
                                                 help="How much of the past to keep "
                                                      "(0..1) for --smooth."),
    no_window: bool = typer.Option(False, "--no-window", help="Do not open a window."),
    record: Path | None = typer.Option(None, "--record", help="Record the styled feed to this "
                                                              "MP4 (plays at real speed)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --record."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many "
                                                                   "seconds."),
    serve: str | None = typer.Option(None, "--serve", metavar="[HOST:]PORT",
                                     help="Serve a web page with the stream and style buttons "
                                          "(host 127.0.0.1 unless named; port 0 = any)."),
    virtual_cam: bool = typer.Option(False, "--virtual-cam", help="Send the feed to a virtual "
                                     "camera (pip install 'vidstyle\\[virtualcam]')."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for painting "
                                       "(default: all cores; 1 can be faster on a busy CPU)."),
    loop: bool = typer.Option(False, "--loop", help="Loop a file source."),
    snapshots: Path = typer.Option(Path("."), "--snapshots", help="Folder for s (PNG) and r "
                                                                  "(MP4) files."),
) -> None:
    """Show a camera (or clip) styled in real time: always the newest frame, never a queue."""
    from vidstyle.live import LiveOptions, run_live, summarize

    window = not no_window and not _headless_with_other_sink(serve or record or virtual_cam)
    opts = LiveOptions(style=style or _first_style(), source=source, size=size or None,
                       device=device, precision=precision, arch=arch, strength=strength,
                       smooth=smooth,
                       smooth_strength=smooth_strength, window=window, record=record,
                       overwrite=overwrite, duration=duration, serve=serve,
                       virtual_cam=virtual_cam, loop=loop, threads=threads, snapshot_dir=snapshots)
    stats = run_live(opts)
    typer.echo(summarize(stats), err=True)


def _first_style() -> str:
    """The style to start with when none is named (the README's ``live --serve`` has none)."""
    from vidstyle.errors import UsageError
    from vidstyle.styles.registry import known_names

    names = known_names()
    if not names:
        raise UsageError("no styles installed: pass --style NAME@pack.safetensors")
    return names[0]


def _headless_with_other_sink(other_sink: object) -> bool:
    """True when there is no display but the feed goes somewhere else anyway.

    ``--serve``, ``--record`` and ``--virtual-cam`` are what a headless machine is told to
    use, so asking for them without also typing ``--no-window`` should not be an error;
    with no other sink the window stays required and its error says what to use.
    """
    if not other_sink:
        return False
    from vidstyle.live_sinks import display_problem

    problem = display_problem()
    if problem is None:
        return False
    typer.echo(f"vidstyle: {problem}: running without a window", err=True)
    return True
