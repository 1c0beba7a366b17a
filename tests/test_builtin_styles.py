"""The packs we ship: the nine named styles, their paintings, and that each one paints.

The fast tests read the packs in ``vidstyle/styles/builtin`` and paint a frame of the
shipped sample clip; the slow one renders a real clip (../shared/data/video) through every
built-in style of every built-in pack with one cue file, as a user would.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest
import tomllib
from safetensors import safe_open

from vidstyle.cli import main
from vidstyle.styles.pack import load_pack
from vidstyle.styles.registry import BUILTIN_DIR
from vidstyle.styles.sheet import SAMPLE, first_frame

ROOT = Path(__file__).resolve().parents[1]
NINE = ["monet", "picasso", "starry-night", "the-scream", "great-wave", "composition-vii",
        "shipwreck", "udnie", "woman-with-hat"]
PACKS = sorted(BUILTIN_DIR.glob("*.safetensors"))
RECIPES = {"lite": "builtin-lite.toml", "full": "builtin-full.toml"}


def test_a_lite_pack_ships() -> None:
    assert BUILTIN_DIR / "lite.safetensors" in PACKS


@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_builtin_pack_holds_the_nine_styles_with_their_paintings(path: Path) -> None:
    pack = load_pack(path)
    assert pack.names == NINE
    assert path.stat().st_size < 8 * 2**20  # "a few MB per pack"
    with safe_open(str(path), framework="pt") as f:  # stored fp16, as shipped
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}  # noqa: SIM118
    recipe = tomllib.loads((ROOT / "configs" / "styles" / RECIPES[pack.arch]).read_text())
    assert [s["name"] for s in recipe["styles"]] == NINE
    for style, wanted in zip(pack.styles, recipe["styles"], strict=True):
        # Each style names its painting, and the recipe that reproduces it names the same file.
        assert style["sha256"] == wanted["sha256"]
        assert style["artist"] == wanted["artist"] and style["title"] == wanted["title"]
    picasso = pack.styles[NINE.index("picasso")]
    assert picasso["artist"] == "Juan Gris"
    training = pack.training
    assert training["iterations"] > 0 and training["seconds_per_iteration"] > 0
    assert {"content", "style", "tv"} <= set(training["losses"]) and training["where"]


def test_styles_lists_every_builtin_with_its_painter(capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("VIDSTYLE_HOME", str(tmp_path))  # no user packs
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for pack in PACKS:
        arch = load_pack(pack).arch
        for name in NINE:
            line = next((ln for ln in lines if ln.split()[:2] == [name, arch]), "")
            assert "built-in" in line, (name, arch, lines)
    assert all("Juan Gris" in ln for ln in lines if ln.startswith("picasso "))


@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_every_builtin_style_paints_the_sample_its_own_way(path: Path) -> None:
    """Each style changes a real decoded frame, and no two styles paint it alike."""
    from vidstyle.api import stylize_image

    frame = first_frame(SAMPLE)  # the coffee cup, as on the README's sheet
    arch = load_pack(path).arch
    painted = {n: stylize_image(frame, f"{n}@{path.stem}", arch=arch, max_size=256).astype(float)
               for n in NINE}
    for name, img in painted.items():
        assert img.shape == frame.shape
        assert np.abs(img - frame).mean() > 12, name
    for a, b in itertools.combinations(NINE, 2):
        assert np.abs(painted[a] - painted[b]).mean() > 4, (a, b)


@pytest.mark.slow
@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_real_clip_renders_through_every_builtin_style(shared_data: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       path: Path) -> None:
    """bikes.mp4 (10 s) with a cue per second: all nine styles of the pack, then unpainted."""
    monkeypatch.setenv("VIDSTYLE_HOME", str(tmp_path))
    src = shared_data / "video" / "bikes.mp4"
    cues = tmp_path / "all.cue"
    cues.write_text("".join(f"{i}  {n}@{path.stem}\n" for i, n in enumerate(NINE))
                    + f"{len(NINE)}  none\n")
    out = tmp_path / "all.mp4"
    assert main(["render", str(src), "--cues", str(cues), "-o", str(out), "--max-size", "160",
                 "--smooth", "none", "--arch", load_pack(path).arch, "--crf", "12"]) == 0

    with av.open(str(src)) as a, av.open(str(out)) as b:
        fps = float(a.streams.video[0].average_rate)
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    for i, name in enumerate([*NINE, "none"]):
        fa, fb = (f.to_ndarray(format="rgb24").astype(float)
                  for f in pairs[int((i + 0.5) * fps)])
        diff = np.abs(fa - fb).mean()
        if name == "none":
            assert diff < 3, diff  # the source, through one lossy encode
        else:
            assert diff > 12, (name, diff)
