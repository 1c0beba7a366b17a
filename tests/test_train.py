"""The trainer on tiny data with a tiny VGG-shaped loss network; odd paintings; recipes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from vidstyle.errors import UsageError
from vidstyle.models import vgg
from vidstyle.styles.pack import load_pack
from vidstyle.train.config import StyleSpec, TrainConfig, build_config
from vidstyle.train.images import read_style_image
from vidstyle.train.trainer import train


def tiny_vgg() -> vgg.LossNetwork:
    torch.manual_seed(0)
    return vgg.LossNetwork(vgg.vgg16_features(width=1 / 16), (123.68, 116.779, 103.939),
                           (1.0, 1.0, 1.0), 255.0)


def _texture(seed: int, size: tuple[int, int] = (96, 96)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: size[0], : size[1]]
    base = np.stack([np.sin(x / (3 + seed)), np.cos(y / 5), np.sin((x + y) / 7)], -1)
    return ((base * 0.5 + 0.5) * 200 + rng.integers(0, 55, (*size, 3))).astype(np.uint8)


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    content = tmp_path / "photos"
    content.mkdir()
    for i in range(5):
        Image.fromarray(_texture(10 + i, (48, 64))).save(content / f"p{i}.jpg")
    (content / "broken.jpg").write_bytes(b"not a jpeg")
    styles = []
    for i in range(2):
        p = tmp_path / f"painting{i}.png"
        Image.fromarray(_texture(i)).save(p)
        styles.append(p)
    return {"content": content, "s0": styles[0], "s1": styles[1], "dir": tmp_path}


def _cfg(data: dict[str, Path], out: str, **kw) -> TrainConfig:
    base = dict(styles=[StyleSpec(str(data["s0"]), "zero")], content=str(data["content"]),
                output=str(data["dir"] / out), size=32, batch=2, iters=6, lr=1e-2,
                checkpoint_every=3, preview_every=100, style_weight=5.0)
    base.update(kw)
    return TrainConfig(**base)


def test_loss_decreases_and_outputs_are_written(data) -> None:
    result = train(_cfg(data, "a.safetensors", iters=40, checkpoint_every=20), progress=False,
                   loss_net=tiny_vgg())
    log = [__import__("json").loads(x) for x in
           (data["dir"] / "a.log.jsonl").read_text().splitlines()]
    assert len(log) == 40
    first = np.mean([r["total"] for r in log[:8]])
    last = np.mean([r["total"] for r in log[-8:]])
    assert last < 0.8 * first
    pack = load_pack(result.pack)
    assert pack.names == ["zero"]
    assert pack.training["iterations"] == 40
    assert pack.styles[0]["sha256"] and pack.recipe["size"] == 32
    for suffix in (".preview.jpg", ".losses.png", ".ckpt.safetensors"):
        assert (data["dir"] / f"a{suffix}").is_file()


def test_resume_continues_exactly(data) -> None:
    straight = train(_cfg(data, "s.safetensors"), progress=False, loss_net=tiny_vgg())
    train(_cfg(data, "r.safetensors", iters=3), progress=False, loss_net=tiny_vgg())
    resumed = train(_cfg(data, "r.safetensors", resume=True), progress=False,
                    loss_net=tiny_vgg())
    a = load_file(str(data["dir"] / "s.ckpt.safetensors"))
    b = load_file(str(data["dir"] / "r.ckpt.safetensors"))
    assert resumed.iterations == straight.iterations == 6
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k


@pytest.mark.parametrize("residual", ["pixel", "logit"])
def test_add_to_trains_only_the_new_rows(data, residual: str) -> None:
    base = train(_cfg(data, "base.safetensors", residual=residual), progress=False,
                 loss_net=tiny_vgg())
    grown = train(_cfg(data, "grown.safetensors", add_to=str(base.pack),
                       styles=[StyleSpec(str(data["s1"]), "one")]),
                  progress=False, loss_net=tiny_vgg())
    old, new = load_file(str(base.pack)), load_file(str(grown.pack))
    assert load_pack(grown.pack).names == ["zero", "one"]
    assert load_pack(grown.pack).residual == residual  # the base's form, whatever the default
    changed_rows = 0
    for k, v in old.items():
        if k.endswith((".gamma", ".beta")):
            assert torch.equal(new[k][:1], v), k  # the old style is untouched
            changed_rows += not torch.equal(new[k][1:], v)
        else:
            assert torch.equal(new[k], v), k  # the trunk is bit-identical
    assert changed_rows > 0


def test_add_to_refuses_a_name_already_there(data) -> None:
    base = train(_cfg(data, "b2.safetensors", iters=3), progress=False, loss_net=tiny_vgg())
    with pytest.raises(UsageError, match="already has style"):
        train(_cfg(data, "g2.safetensors", add_to=str(base.pack)), progress=False,
              loss_net=tiny_vgg())


def test_empty_content_folder_is_a_clear_error(data, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no images"):
        train(_cfg(data, "e.safetensors", content=str(empty)), progress=False,
              loss_net=tiny_vgg())


def test_keras_h5_import_maps_layers_and_channels(tmp_path: Path) -> None:
    import h5py

    rng = np.random.default_rng(0)
    path = tmp_path / "vgg.weights.h5"
    shapes = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
              (256, 512), (512, 512), (512, 512)]
    names = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
             "block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3"]
    kernels = {}
    with h5py.File(path, "w") as f:
        for (cin, cout), name in zip(shapes, names, strict=True):
            b, i = int(name[5]), int(name[-1]) - 1
            g = f.create_group(f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars")
            g.attrs["name"] = name
            k = rng.standard_normal((3, 3, cin, cout)).astype(np.float32) * 0.01
            g["0"], g["1"] = k, rng.standard_normal(cout).astype(np.float32)
            kernels[name] = k
    net = vgg.load_loss_network(path)
    conv1 = net.features[0].weight.detach().numpy()
    # HWIO -> OIHW, and input channels flipped so the net takes RGB.
    assert np.allclose(conv1, kernels["block1_conv1"].transpose(3, 2, 0, 1)[:, ::-1])
    conv10 = net.features[21].weight.detach().numpy()
    assert np.allclose(conv10, kernels["block4_conv3"].transpose(3, 2, 0, 1))
    assert net.scale == 255.0  # Caffe convention: 0..255 minus the mean
    feats = net(torch.rand(1, 3, 32, 32))
    assert feats["relu4_3"].shape == (1, 512, 4, 4)


def test_torchvision_state_dict_and_missing_weights(tmp_path: Path, monkeypatch) -> None:
    state = {f"features.{k}": v for k, v in vgg.vgg16_features().state_dict().items()}
    p = tmp_path / "vgg16.pth"
    torch.save(state, p)
    net = vgg.load_loss_network(p)
    assert net.scale == 1.0
    with pytest.raises(UsageError, match="not found"):
        vgg.load_loss_network(tmp_path / "nope.pth")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(UsageError, match=r"empty\.h5: VGG-16 weights file is empty"):
        vgg.load_loss_network(tmp_path / "empty.h5")
    (tmp_path / "junk.pth").write_bytes(b"\x00" * 64)
    with pytest.raises(UsageError, match=r"junk\.pth: cannot read VGG-16 weights: \S"):
        vgg.load_loss_network(tmp_path / "junk.pth")

    import torchvision.models

    def offline(*a, **k):
        raise OSError("no internet")

    monkeypatch.setattr(torchvision.models, "vgg16", offline)
    with pytest.raises(UsageError, match="--vgg-weights FILE"):
        vgg.load_loss_network(None)


# --- paintings in every odd format --------------------------------------------------------

def _save(tmp_path: Path, name: str, img: Image.Image, **kw) -> Path:
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_transparent_and_palette_pngs_flatten_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[:40, :, :] = (255, 0, 0, 255)  # top half opaque red, bottom half transparent
    p = _save(tmp_path, "rgba.png", Image.fromarray(rgba, "RGBA"))
    out = read_style_image(p)
    assert tuple(out[10, 10]) == (255, 0, 0) and tuple(out[70, 10]) == (255, 255, 255)
    pal = Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE)
    out = read_style_image(_save(tmp_path, "pal.png", pal))
    assert out.shape == (80, 80, 3) and tuple(out[10, 10]) == (255, 0, 0)


def test_grey_cmyk_and_16bit_images(tmp_path: Path) -> None:
    grey = read_style_image(_save(tmp_path, "g.png", Image.new("L", (70, 90), 77)))
    assert grey.shape == (90, 70, 3) and (grey == 77).all()
    cmyk = read_style_image(_save(tmp_path, "c.jpg", Image.new("CMYK", (70, 70),
                                                              (0, 255, 255, 0))))
    r, g, b = cmyk[35, 35].astype(int)
    assert r > 200 and g < 60 and b < 60  # CMYK (0,255,255,0) is red
    arr16 = np.full((70, 70), 65535 // 2, np.uint16)
    out = read_style_image(_save(tmp_path, "d.png", Image.fromarray(arr16)))
    assert abs(int(out[0, 0, 0]) - 128) <= 1


def test_exif_rotation_is_honoured(tmp_path: Path) -> None:
    img = Image.new("RGB", (120, 80), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    p = _save(tmp_path, "rot.jpg", img, exif=exif.tobytes())
    assert read_style_image(p).shape == (120, 80, 3)


def test_tiny_and_extreme_images_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="shorter side must be at least"):
        read_style_image(_save(tmp_path, "tiny.png", Image.new("RGB", (4, 4))))
    with pytest.raises(UsageError, match="aspect ratio"):
        read_style_image(_save(tmp_path, "strip.png", Image.new("RGB", (2000, 70))))
    with pytest.raises(UsageError, match="not a readable image"):
        (tmp_path / "fake.png").write_text("hello")
        read_style_image(tmp_path / "fake.png")


def test_recipe_then_flags(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('size = 64\niters = 10\n[[styles]]\nimage = "x.jpg"\nname = "ex"\n')
    cfg = build_config(recipe, {"iters": 20, "lr": None})
    assert (cfg.size, cfg.iters, cfg.lr, cfg.styles[0].name) == (64, 20, 1e-3, "ex")
    recipe.write_text("sizee = 3\n")
    with pytest.raises(UsageError, match="unknown option 'sizee'"):
        build_config(recipe, {})


def test_shipped_recipes_parse() -> None:
    root = Path(__file__).resolve().parents[1] / "configs" / "styles"
    recipes = sorted(root.glob("*.toml"))
    assert len(recipes) >= 10
    for r in recipes:
        cfg = build_config(r, {})
        assert cfg.styles and all(len(s.sha256) == 64 for s in cfg.styles)


def test_train_command_reports_bad_input_in_one_line(data, tmp_path: Path, capsys) -> None:
    from vidstyle.cli import main

    code = main(["train", "--style-image", str(tmp_path / "missing.jpg"), "--content",
                 str(data["content"]), "-o", str(tmp_path / "x.safetensors")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "missing.jpg" in err[0] and "Traceback" not in err[0]


def test_init_from_continues_a_pack_and_checks_it_fits(data) -> None:
    first = train(_cfg(data, "w0.safetensors", iters=4), progress=False, loss_net=tiny_vgg())
    warm = train(_cfg(data, "w1.safetensors", iters=1, lr=0.0, style_lr_scale=0.0,
                      init_from=str(first.pack)), progress=False, loss_net=tiny_vgg())
    a, b = load_pack(first.pack).net.state_dict(), load_pack(warm.pack).net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # lr 0: the warm start is exact
    with pytest.raises(UsageError, match="styles zero; the recipe wants a lite pixel-residual "
                                         "net of one"):
        train(_cfg(data, "w2.safetensors", styles=[StyleSpec(str(data["s1"]), "one")],
                   init_from=str(first.pack)), progress=False, loss_net=tiny_vgg())
    with pytest.raises(UsageError, match=r"is a lite pixel-residual .* wants a lite "
                                         r"logit-residual net"):
        train(_cfg(data, "w3.safetensors", residual="logit", init_from=str(first.pack)),
              progress=False, loss_net=tiny_vgg())


def test_time_limit_stops_early_and_still_writes_the_pack(data) -> None:
    result = train(_cfg(data, "t.safetensors", iters=1000, time_limit=1e-9), progress=False,
                   loss_net=tiny_vgg())
    assert result.iterations == 1
    assert load_pack(result.pack).training["iterations"] == 1
    assert (data["dir"] / "t.preview.jpg").is_file()


def test_loss_network_safetensors_keeps_weights_and_convention(tmp_path: Path) -> None:
    torch.manual_seed(0)
    caffe = vgg.LossNetwork(vgg.vgg16_features(), (123.68, 116.779, 103.939), (1.0, 1.0, 1.0),
                            255.0)
    vgg.save_loss_network(caffe, tmp_path / "v.safetensors")
    back = vgg.load_loss_network(tmp_path / "v.safetensors")
    assert back.scale == 255.0 and torch.equal(back.mean, caffe.mean)
    x = torch.rand(1, 3, 32, 32)
    fa, fb = caffe(x, ("relu2_2",))["relu2_2"], back(x, ("relu2_2",))["relu2_2"]
    assert torch.allclose(fa, fb, rtol=1e-2, atol=1e-2 * float(fa.abs().max()))
    tv = vgg.from_torchvision_state(vgg.vgg16_features().state_dict())
    vgg.save_loss_network(tv, tmp_path / "t.safetensors")
    assert vgg.load_loss_network(tmp_path / "t.safetensors").scale == 1.0


def test_an_existing_pack_is_never_replaced_by_accident(data) -> None:
    first = train(_cfg(data, "keep.safetensors", iters=2), progress=False, loss_net=tiny_vgg())
    before = first.pack.read_bytes()
    with pytest.raises(UsageError, match=r"keep\.safetensors: exists \(use --overwrite"):
        train(_cfg(data, "keep.safetensors", iters=2), progress=False, loss_net=tiny_vgg())
    assert first.pack.read_bytes() == before
    again = train(_cfg(data, "keep.safetensors", iters=2, overwrite=True), progress=False,
                  loss_net=tiny_vgg())
    assert again.iterations == 2
    leftovers = [p.name for p in data["dir"].iterdir() if ".partial" in p.name]
    assert leftovers == []
    # A pack is shareable like any file written with open(): not safetensors' private 0600.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(again.pack.stat().st_mode) == 0o666 & ~umask


def test_precision_bf16_and_fp32_both_train(data) -> None:
    """bf16 autocast (auto on CPUs with native bf16) trains the same net as fp32, closely."""
    runs = {p: train(_cfg(data, f"{p}.safetensors", iters=2, precision=p), progress=False,
                     loss_net=tiny_vgg()) for p in ("fp32", "bf16")}
    a, b = (load_pack(r.pack) for r in runs.values())
    assert "fp32" in a.training["where"] and "bf16 autocast" in b.training["where"]
    diffs = [(a.net.state_dict()[k] - v).abs().max().item() for k, v in b.net.state_dict().items()]
    assert 0 < max(diffs) < 0.05  # the same steps, rounded differently
    with pytest.raises(UsageError, match="--precision must be"):
        train(_cfg(data, "x.safetensors", precision="fp8"), progress=False, loss_net=tiny_vgg())


def test_each_sample_style_term_is_normalised_by_its_own_painting() -> None:
    """A dark painting (small Gram energy) counts as much as a bright one in a mixed batch."""
    from vidstyle.train.losses import gram, style_loss

    torch.manual_seed(2)
    feats = torch.rand(2, 4, 8, 8)
    targets = gram(torch.rand_like(feats))
    both = style_loss({"a": feats}, {"a": targets})
    alone = [style_loss({"a": feats[i:i + 1]}, {"a": targets[i:i + 1]}) for i in range(2)]
    torch.testing.assert_close(both, (alone[0] + alone[1]) / 2)
    # Scale sample 1's features and painting by 10 (its Grams by 100): the loss is unchanged.
    scale = torch.tensor([1.0, 10.0]).view(2, 1, 1, 1)
    torch.testing.assert_close(style_loss({"a": feats * scale}, {"a": targets * scale[:, 0] ** 2}),
                               both)


def test_style_layer_weights_scale_each_layer_and_reach_the_pack(data, tmp_path: Path,
                                                                 capsys) -> None:
    from vidstyle.cli import main
    from vidstyle.train.losses import gram, style_loss

    torch.manual_seed(1)
    feats = {"a": torch.rand(1, 4, 8, 8), "b": torch.rand(1, 6, 4, 4)}
    targets = {k: gram(torch.rand_like(v)) for k, v in feats.items()}
    only_a = style_loss({"a": feats["a"]}, {"a": targets["a"]})
    only_b = style_loss({"b": feats["b"]}, {"b": targets["b"]})
    assert only_a > 0 and only_b > 0
    torch.testing.assert_close(style_loss(feats, targets), only_a + only_b)
    torch.testing.assert_close(style_loss(feats, targets, {"a": 0.0, "b": 3.0}), 3 * only_b)

    out = train(_cfg(data, "lw.safetensors", iters=2, style_layer_weights=[0, 0.5, 1, 2]),
                progress=False, loss_net=tiny_vgg())
    assert load_pack(out.pack).recipe["style_layer_weights"] == [0, 0.5, 1, 2]
    with pytest.raises(UsageError, match="4 non-negative numbers"):
        train(_cfg(data, "lw2.safetensors", style_layer_weights=[1, 1]), progress=False,
              loss_net=tiny_vgg())
    code = main(["train", "--style-image", str(data["s0"]), "--content", str(data["content"]),
                 "-o", str(tmp_path / "lw3.safetensors"), "--style-layer-weights", "1,x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--style-layer-weights" in err[0]
