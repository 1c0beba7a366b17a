"""``vidstyle eval``: how much a rendered video flickers, and optionally how stylised it is."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vidstyle.cli import app


@app.command("eval")
def eval_(
    output: Path = typer.Argument(..., help="The rendered video to score."),
    reference: Path = typer.Option(..., "--reference", "-r",
                                   help="The input video it was rendered from (the flow "
                                        "comes from it); same frame count."),
    baseline: Path | None = typer.Option(None, "--baseline", "-b",
                                         help="A second render of the same input (e.g. "
                                              "--smooth none) to compare against."),
    painting: Path | None = typer.Option(None, "--painting",
                                         help="Also report style loss against this painting "
                                              "and content loss against the input (VGG-16)."),
    vgg_weights: Path | None = typer.Option(None, "--vgg-weights",
                                            help="VGG-16 weights for --painting (torchvision "
                                                 "state dict or Keras .h5)."),
    flow_side: int = typer.Option(480, "--flow-side", min=32,
                                  help="Longer side at which the input flow is computed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Temporal warping error (Lai et al. 2018): masked MSE between frame t and frame t-1
    warped by the input's optical flow, RGB in 0..1, averaged over frames. 0 is still."""
    from vidstyle.evaluate import evaluate_files

    report = evaluate_files(output, reference, baseline, painting, vgg_weights, flow_side)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    typer.echo(f"frames            {report.frames}")
    typer.echo(f"warping error     {report.warping_error:.6f}  ({output})")
    if report.baseline_warping_error is not None:
        typer.echo(f"baseline          {report.baseline_warping_error:.6f}  ({baseline})")
        if report.reduction is not None:
            r = report.reduction
            typer.echo(f"vs baseline       {100 * abs(r):.1f} % "
                       + ("lower (steadier)" if r >= 0 else "higher (OUT flickers more)"))
    if report.skipped_pairs:
        typer.echo(f"skipped pairs     {report.skipped_pairs} (shot changes: nothing to warp)")
    if report.perceptual is not None:
        p = report.perceptual
        typer.echo(f"content loss      {p.content:.4f}  (vs input, {p.frames} frames)")
        typer.echo(f"style loss        {p.style:.4f}  (vs {painting})")
